//! Configuration: one TOML file, validated as a whole so an installer sees every problem at
//! once (unknown keys anywhere, wrong types, out-of-range values, missing files).

use crate::alerts::{MqttConfig, TranscriptPolicy};
use crate::audio::AudioConfig;
use crate::conversation::{Phrases, Policy};
use crate::knowledge::{
    BUILTIN_EXAMPLE, KnowledgeBase, KnowledgeConfig, KnowledgeError, KnowledgeSource,
};
use crate::stress::StressConfig;
use crate::stt::SttConfig;
use crate::tts::TtsConfig;
use crate::vad::VadConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The commented example configuration, as shipped in `systemd/attune.toml`.
pub const EXAMPLE: &str = include_str!("../systemd/attune.toml");

/// The knowledge line of [`EXAMPLE`], which names the installed `knowledge.toml`.
const INSTALLED_KNOWLEDGE_LINE: &str = "file = \"knowledge.toml\"            # its [matching] threshold decides when the kiosk asks to rephrase\n";

/// What `attune print-default-config` prints: [`EXAMPLE`] with the built-in example knowledge
/// base named, so that the printed file runs as printed from any directory.
pub fn printed_example() -> String {
    EXAMPLE.replacen(
        INSTALLED_KNOWLEDGE_LINE,
        "file = \"builtin:example\"           # the built-in example (a railway station's FAQ); for your own:\n\
         \x20                                  # attune print-default-config --knowledge > knowledge.toml, then\n\
         \x20                                  # file = \"knowledge.toml\" (its [matching] threshold decides when\n\
         \x20                                  # the kiosk asks to rephrase)\n",
        1,
    )
}

/// The `[kiosk]` section: who and where this kiosk is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KioskConfig {
    /// Site id (station, shop, hospital), used in MQTT topics.
    pub site: String,
    /// Kiosk id within the site, used in MQTT topics and alert ids.
    pub id: String,
    /// Where the kiosk stands, in words staff understand.
    pub location: String,
    /// Language of the kiosk (ISO 639-1).
    pub language: String,
    /// Durable state (the alert outbox); relative paths are relative to the config file.
    pub state_dir: PathBuf,
}

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            site: String::new(),
            id: String::new(),
            location: String::new(),
            language: "en".into(),
            state_dir: PathBuf::from("/var/lib/attune"),
        }
    }
}

/// The `[models]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelsConfig {
    /// Model directory; unset means a checkout's `models/`, else `/var/lib/attune/models`.
    pub dir: Option<PathBuf>,
}

/// The `[privacy]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// What alerts carry of the customer's words: none, redacted or full.
    pub alert_transcript: TranscriptPolicy,
    /// Write transcripts to the log (off by default).
    pub log_transcripts: bool,
}

/// The whole, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[kiosk]`
    pub kiosk: KioskConfig,
    /// `[models]`
    pub models: ModelsConfig,
    /// `[audio]`
    pub audio: AudioConfig,
    /// `[vad]`
    pub vad: VadConfig,
    /// `[stt]`
    pub stt: SttConfig,
    /// `[stress]`
    pub stress: StressConfig,
    /// `[tts]`
    pub tts: TtsConfig,
    /// `[knowledge]`
    pub knowledge: KnowledgeConfig,
    /// `[escalation]`
    pub escalation: Policy,
    /// `[replies]`
    pub replies: Phrases,
    /// `[mqtt]`
    pub mqtt: MqttConfig,
    /// `[privacy]`
    pub privacy: PrivacyConfig,
    /// Directory relative paths are resolved against (the config file's directory).
    pub base_dir: PathBuf,
}

/// Every problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<built-in>` for the embedded example).
    pub source: String,
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} problem(s):", self.source, self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Findings of [`Config::check_files`]: errors make the configuration unusable, warnings
/// (such as models not fetched yet) do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// Missing or unusable files the configuration names.
    pub errors: Vec<String>,
    /// Things to fix before `attune run` (models not fetched yet).
    pub warnings: Vec<String>,
    /// What the installer must make true outside attune (the site broker's ACL).
    pub notes: Vec<String>,
}

impl Config {
    /// Reads and validates `path`; all problems are reported together.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source: source.clone(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &source, &base)
    }

    /// Parses and validates configuration text; `source` names it in errors.
    pub fn parse(text: &str, source: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let fail = |problems| ConfigError {
            source: source.to_string(),
            problems,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| fail(vec![e.to_string()]))?;
        let mut problems = Vec::new();
        for (key, value) in &table {
            if !SECTIONS.contains(&key.as_str()) {
                problems.push(match value {
                    toml::Value::Table(_) => format!("unknown section [{key}]"),
                    _ => format!("unknown key `{key}` at top level"),
                });
            }
        }
        let mut sections = Sections {
            table: &table,
            problems: &mut problems,
            unread: Vec::new(),
        };
        let cfg = Config {
            kiosk: sections.read("kiosk"),
            models: sections.read("models"),
            audio: sections.read("audio"),
            vad: sections.read("vad"),
            stt: sections.read("stt"),
            stress: sections.read("stress"),
            tts: sections.read("tts"),
            knowledge: sections.read("knowledge"),
            escalation: sections.read("escalation"),
            replies: sections.read("replies"),
            mqtt: sections.read("mqtt"),
            privacy: sections.read("privacy"),
            base_dir: base_dir.to_path_buf(),
        };
        let unread = sections.unread;
        problems.extend(cfg.value_problems(&unread));
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(fail(problems))
        }
    }

    /// The built-in example configuration, resolved against `base_dir`.
    pub fn example(base_dir: &Path) -> Result<Config, ConfigError> {
        Self::parse(EXAMPLE, "<built-in example>", base_dir)
    }

    /// Problems with values that deserialised; a section in `unread` did not, holds defaults,
    /// and is already reported, so checking its values would only add misleading problems.
    fn value_problems(&self, unread: &[&str]) -> Vec<String> {
        let checks = [
            ("kiosk", self.kiosk_problems()),
            ("audio", self.audio.problems()),
            ("vad", self.vad.problems()),
            ("stt", self.stt.problems()),
            ("stress", self.stress.problems()),
            ("tts", self.tts.problems()),
            ("escalation", self.escalation.problems()),
            ("replies", self.replies.problems()),
            ("mqtt", self.mqtt.problems()),
        ];
        checks
            .into_iter()
            .filter(|(name, _)| !unread.contains(name))
            .flat_map(|(_, problems)| problems)
            .collect()
    }

    fn kiosk_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, v) in [
            ("kiosk.site", &self.kiosk.site),
            ("kiosk.id", &self.kiosk.id),
        ] {
            let ok = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                out.push(format!("{key} = {v:?} must be non-empty letters, digits, - or _ (it is part of MQTT topics)"));
            }
        }
        out
    }

    /// Resolves a path from the configuration against the config file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The model directory in use: `[models] dir`, else `ATTUNE_MODELS_DIR`, else the
    /// checkout's `models/` when run from a source tree, else `/var/lib/attune/models`.
    pub fn models_dir(&self) -> PathBuf {
        match &self.models.dir {
            Some(d) => self.resolve(d),
            None => default_models_dir(),
        }
    }

    /// The `[mqtt]` section with its file paths resolved against the config file's directory.
    pub fn mqtt(&self) -> MqttConfig {
        let mut m = self.mqtt.clone();
        for p in [
            &mut m.ca_file,
            &mut m.client_cert,
            &mut m.client_key,
            &mut m.credentials_file,
        ]
        .into_iter()
        .flatten()
        {
            *p = self.resolve(p);
        }
        m
    }

    /// Where the knowledge base comes from: the file `knowledge.file` names, or the built-in
    /// example when it says `builtin:example`.
    pub fn knowledge_source(&self) -> KnowledgeSource {
        self.knowledge.source(|p| self.resolve(p))
    }

    /// Loads the knowledge base (see [`Config::knowledge_source`]), saying so in the log when
    /// it is the built-in example: a kiosk in service should answer from its own.
    pub fn knowledge_base(&self) -> Result<KnowledgeBase, KnowledgeError> {
        let source = self.knowledge_source();
        if source == KnowledgeSource::Example {
            tracing::warn!(
                "knowledge.file = \"{BUILTIN_EXAMPLE}\": answering from the built-in example \
                 knowledge base (a railway station's)"
            );
        }
        source.load()
    }

    /// The state directory (alert outbox), resolved.
    pub fn state_dir(&self) -> PathBuf {
        self.resolve(&self.kiosk.state_dir)
    }

    /// A model file named in the configuration, resolved against the model directory.
    pub fn model_path(&self, name: &str) -> PathBuf {
        let p = Path::new(name);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.models_dir().join(p)
        }
    }

    /// Checks the files the configuration names. Missing models are warnings (fetch them);
    /// a missing knowledge base or TLS file is an error.
    pub fn check_files(&self) -> FileCheck {
        let mut check = FileCheck::default();
        match self.knowledge_source() {
            KnowledgeSource::File(kb) if !kb.is_file() => check
                .errors
                .push(format!("knowledge.file: {} does not exist", kb.display())),
            KnowledgeSource::File(_) => {}
            KnowledgeSource::Example => check.notes.push(format!(
                "knowledge.file = \"{BUILTIN_EXAMPLE}\": the kiosk answers from the built-in \
                 example (a railway station's FAQ); for your own, run \
                 `attune print-default-config --knowledge > knowledge.toml`, edit it, and set \
                 file = \"knowledge.toml\""
            )),
        }
        let mqtt = self.mqtt();
        for (key, p) in mqtt.files() {
            if !p.is_file() {
                check
                    .errors
                    .push(format!("{key}: {} does not exist", p.display()));
            }
        }
        if check.errors.is_empty() {
            check.errors.extend(crate::alerts::check_mqtt(&mqtt));
        }
        match crate::alerts::BrokerUrl::parse(&mqtt.url) {
            Ok(crate::alerts::BrokerUrl::Embedded(addr)) => {
                if let Err(e) = crate::alerts::check_address(addr) {
                    check.errors.push(format!("mqtt.url: {e}"));
                }
            }
            Ok(crate::alerts::BrokerUrl::Remote { .. }) => check.notes.push(format!(
                "requirement: the site broker must let only staff accounts publish on \
                 {prefix}/{site}/+/ack and {prefix}/{site}/+/outcome (acknowledgements are \
                 trusted as they arrive); see the ACL in mosquitto-example.conf{anon}",
                prefix = mqtt.topic_prefix,
                site = self.kiosk.site,
                anon = if mqtt.credentials_file.is_none() && mqtt.client_cert.is_none() {
                    ". This kiosk logs in anonymously: a broker that admits anonymous clients \
                     lets anyone acknowledge alerts"
                } else {
                    ""
                }
            )),
            Err(_) => {}
        }
        let state = self.state_dir();
        if state.exists() && !state.is_dir() {
            check.errors.push(format!(
                "kiosk.state_dir: {} is not a directory",
                state.display()
            ));
        }
        let models = [
            ("vad.model", &self.vad.model),
            ("stt.model", &self.stt.model),
            ("stress.model", &self.stress.model),
            ("stress.encoder", &self.stress.encoder),
            ("tts.voice", &self.tts.voice),
        ];
        for (key, name) in models {
            let p = self.model_path(name);
            if !p.is_file() {
                check.warnings.push(format!(
                    "{key}: model {} is not there yet (fix: attune models fetch --dir {})",
                    p.display(),
                    self.models_dir().display()
                ));
            }
        }
        check
    }
}

/// The model directory used when the configuration does not name one.
pub fn default_models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ATTUNE_MODELS_DIR") {
        return PathBuf::from(d);
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if checkout.join("manifest.toml").is_file() {
        return checkout;
    }
    PathBuf::from("/var/lib/attune/models")
}

const SECTIONS: [&str; 12] = [
    "kiosk",
    "models",
    "audio",
    "vad",
    "stt",
    "stress",
    "tts",
    "knowledge",
    "escalation",
    "replies",
    "mqtt",
    "privacy",
];

/// Reads the configuration's sections one by one, recording every unknown key inside each and
/// its first type error.
struct Sections<'a> {
    table: &'a toml::Table,
    problems: &'a mut Vec<String>,
    /// Sections that did not deserialise (they hold defaults).
    unread: Vec<&'static str>,
}

impl Sections<'_> {
    /// The section `name`, or its default (noting the problem) when it is absent or wrong.
    fn read<T: DeserializeOwned + Default>(&mut self, name: &'static str) -> T {
        let Some(value) = self.table.get(name) else {
            return T::default();
        };
        let mut unknown = Vec::new();
        let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
        let de = serde_ignored::Deserializer::new(value.clone(), &mut record);
        let result: Result<T, _> = serde_path_to_error::deserialize(de);
        self.problems
            .extend(unknown.iter().map(|k| format!("unknown key `{name}.{k}`")));
        match result {
            Ok(v) => v,
            Err(e) => {
                let path = e.path().to_string();
                let at = if path == "." {
                    name.to_string()
                } else {
                    format!("{name}.{path}")
                };
                // The path is already named; serde's own "in `key`" lines only repeat it.
                let inner = e.into_inner().to_string();
                let first = inner.lines().next().unwrap_or_default();
                self.problems.push(format!("{at}: {first}"));
                self.unread.push(name);
                T::default()
            }
        }
    }
}
