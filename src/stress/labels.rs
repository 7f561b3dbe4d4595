//! Labelled recordings (`path,arousal,...` CSV files) and the scores used to evaluate the
//! arousal classifier: ROC-AUC, unweighted average recall, recall at 5% false alarms.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors reading a labels file; they name the file and the row.
#[derive(Debug, Error)]
pub enum LabelsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a usable labels CSV.
    #[error("{path}: {detail}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the row.
        detail: String,
    },
}

/// A CSV table with a `path` column; paths are relative to the CSV's folder.
#[derive(Debug, Clone)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
    /// The line each row starts on (1-based), for messages.
    lines: Vec<u64>,
    path_col: usize,
    base: PathBuf,
}

impl Table {
    /// Reads `path`; every row must have the header's column count.
    pub fn read(path: &Path) -> Result<Table, LabelsError> {
        let bad = |detail: String| LabelsError::Bad {
            path: path.to_path_buf(),
            detail,
        };
        let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => LabelsError::Read {
                path: path.to_path_buf(),
                source,
            },
            other => bad(format!("{other:?}")),
        })?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(bad("empty file".into()));
        }
        let path_col = header
            .iter()
            .position(|h| h == "path")
            .ok_or_else(|| bad("no `path` column".into()))?;
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            lines.push(record.position().map_or(0, csv::Position::line));
            rows.push(record.iter().map(str::to_string).collect());
        }
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok(Table {
            header,
            rows,
            lines,
            path_col,
            base,
        })
    }

    /// The line of the file row `i` starts on (1-based).
    pub fn line(&self, i: usize) -> u64 {
        self.lines.get(i).copied().unwrap_or_default()
    }

    /// Index of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The audio file of row `i`, resolved against the CSV's folder.
    pub fn audio_path(&self, row: &[String]) -> PathBuf {
        self.base.join(&row[self.path_col])
    }
}

/// Binary-classification scores of p(high) against labels (true = high arousal).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// ROC area under the curve.
    pub auc: f64,
    /// Unweighted average recall at p >= 0.5.
    pub uar: f64,
    /// Recall of `high` at the threshold that flags 5% of `low`.
    pub recall_at_5fa: f64,
    /// Number of items.
    pub n: usize,
}

/// Scores `(p, is_high)` pairs; `None` when either class is missing.
pub fn score(items: &[(f32, bool)]) -> Option<Scores> {
    let high: Vec<f32> = items.iter().filter(|(_, h)| *h).map(|(p, _)| *p).collect();
    let mut low: Vec<f32> = items.iter().filter(|(_, h)| !*h).map(|(p, _)| *p).collect();
    if high.is_empty() || low.is_empty() {
        return None;
    }
    // AUC = P(p_high > p_low), ties counted half (Mann-Whitney).
    let mut wins = 0.0;
    for h in &high {
        for l in &low {
            wins += if h > l {
                1.0
            } else if h == l {
                0.5
            } else {
                0.0
            };
        }
    }
    let auc = wins / (high.len() * low.len()) as f64;
    let recall =
        |t: f32, xs: &[f32]| xs.iter().filter(|&&p| p >= t).count() as f64 / xs.len() as f64;
    let specificity = 1.0 - recall(0.5, &low);
    let uar = (recall(0.5, &high) + specificity) / 2.0;
    low.sort_by(|a, b| b.total_cmp(a));
    // The threshold just above the (5% of low)-th highest low score flags at most 5% of low.
    let allowed = (low.len() as f64 * 0.05).floor() as usize;
    let threshold = low.get(allowed).map(|t| t.next_up()).unwrap_or(f32::MIN);
    let recall_at_5fa = recall(threshold, &high);
    Some(Scores {
        auc,
        uar,
        recall_at_5fa,
        n: items.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_random_classifiers() {
        let perfect: Vec<(f32, bool)> = (0..40).map(|i| (i as f32 / 40.0, i >= 20)).collect();
        let s = score(&perfect).expect("both classes");
        assert_eq!(s.auc, 1.0);
        assert_eq!(s.uar, 1.0);
        assert_eq!(s.recall_at_5fa, 1.0);
        let inverted: Vec<(f32, bool)> = perfect.iter().map(|&(p, h)| (p, !h)).collect();
        assert_eq!(score(&inverted).expect("both").auc, 0.0);
        assert!(score(&[(0.3, true)]).is_none());
    }

    fn table_from(text: &str) -> Result<Table, LabelsError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("labels.csv");
        std::fs::write(&path, text).expect("write");
        Table::read(&path)
    }

    #[test]
    fn quoted_fields_are_read_as_written() {
        let t = table_from("path,speaker\n\"a,b.wav\",\"d\"\"e\"\n").expect("table");
        assert_eq!(t.rows, vec![vec!["a,b.wav", "d\"e"]]);
        assert_eq!(t.line(0), 2);
        assert!(t.audio_path(&t.rows[0]).ends_with("a,b.wav"));
    }

    #[test]
    fn a_short_row_and_a_missing_path_column_name_the_problem() {
        let e = table_from("path,arousal\nx.wav,high\ny.wav\n").expect_err("short row");
        assert!(e.to_string().contains("labels.csv"), "{e}");
        assert!(e.to_string().contains("line: 3"), "{e}");
        let e = table_from("file,arousal\nx.wav,high\n").expect_err("no path column");
        assert!(e.to_string().contains("no `path` column"), "{e}");
    }
}
