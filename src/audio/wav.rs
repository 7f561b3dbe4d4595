//! WAV files as input (fed as if live) and output (a recording of what the kiosk says).

use super::timeline::Timeline;
use super::{
    AudioError, AudioInput, AudioOutput, Clock, FRAME_SAMPLES, Pcm, SAMPLE_RATE, resample,
};
use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Reads a WAV file of any rate, sample format and channel count as mono `f32`.
pub fn read_wav_mono(path: &Path) -> Result<Pcm, AudioError> {
    let read_err = |source| AudioError::ReadWav {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = WavReader::open(path).map_err(read_err)?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::UnsupportedWav {
            path: path.to_path_buf(),
            why: "no channels or a zero sample rate".into(),
        });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
        SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(read_err)?;
    let channels = usize::from(spec.channels);
    let samples = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Pcm {
        samples,
        sample_rate: spec.sample_rate,
    })
}

/// Writes mono `f32` samples as a 16-bit PCM WAV file.
pub fn write_wav_mono(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), AudioError> {
    let err = |source| AudioError::WriteWav {
        path: path.to_path_buf(),
        source,
    };
    let spec = WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let mut w = WavWriter::create(path, spec).map_err(err)?;
    for s in samples {
        w.write_sample(super::to_i16(*s)).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// A WAV file fed frame by frame, in real time or as fast as the pipeline takes it.
#[derive(Debug)]
pub struct WavInput {
    path: PathBuf,
    samples: Vec<f32>,
    pos: usize,
    real_time: bool,
    started: Option<Instant>,
    clock: Clock,
}

impl WavInput {
    /// Loads `path` (any rate or channel count) and converts it to 16 kHz mono. Each frame
    /// read advances `clock`; with `real_time` frames are released at the speed of speech.
    pub fn open(path: &Path, real_time: bool, clock: Clock) -> Result<Self, AudioError> {
        let pcm = read_wav_mono(path)?;
        let samples = resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE)?;
        Ok(Self {
            path: path.to_path_buf(),
            samples,
            pos: 0,
            real_time,
            started: None,
            clock,
        })
    }

    /// Feeds `samples` (16 kHz mono) at the speed of speech when `real_time`, else as fast
    /// as the pipeline takes them; `label` names the source in logs.
    pub fn from_samples(samples: Vec<f32>, label: &str, real_time: bool, clock: Clock) -> Self {
        Self {
            path: PathBuf::from(label),
            samples,
            pos: 0,
            real_time,
            started: None,
            clock,
        }
    }

    fn pace(&mut self) {
        let started = *self.started.get_or_insert_with(Instant::now);
        let due = Duration::from_secs_f64(self.pos as f64 / f64::from(SAMPLE_RATE));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

impl AudioInput for WavInput {
    fn read_frame(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        if self.real_time {
            self.pace();
        }
        let end = (self.pos + FRAME_SAMPLES).min(self.samples.len());
        let mut frame = self.samples[self.pos..end].to_vec();
        frame.resize(FRAME_SAMPLES, 0.0);
        self.pos = end;
        self.clock.advance(FRAME_SAMPLES);
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        format!("wav:{}", self.path.display())
    }
}

/// Records what the kiosk says into a WAV file, written when the run finishes.
#[derive(Debug)]
pub struct WavOutput {
    path: PathBuf,
    timeline: Timeline,
}

impl WavOutput {
    /// An output that records into `path`; playback time runs on `clock`.
    pub fn create(path: &Path, clock: Clock) -> Result<Self, AudioError> {
        // Fail now, not at the end of a long run, when the file cannot be written.
        write_wav_mono(path, &[], SAMPLE_RATE)?;
        Ok(Self {
            path: path.to_path_buf(),
            timeline: Timeline::new(clock, true),
        })
    }
}

impl AudioOutput for WavOutput {
    fn play(&mut self, pcm: &Pcm) -> Result<(), AudioError> {
        self.timeline.play(pcm)
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.timeline.stop();
        Ok(())
    }

    fn is_playing(&mut self) -> bool {
        self.timeline.is_playing()
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        let (samples, rate) = self.timeline.finish();
        write_wav_mono(&self.path, &samples, rate)
    }

    fn describe(&self) -> String {
        format!("wav:{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_44k_file_becomes_16k_mono_frames() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.wav");
        let spec = WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let mut w = WavWriter::create(&path, spec).expect("create");
        for _ in 0..44_100 {
            w.write_sample(16_384i16).expect("write");
            w.write_sample(0i16).expect("write");
        }
        w.finalize().expect("finalize");
        let clock = Clock::samples(SAMPLE_RATE);
        let mut input = WavInput::open(&path, false, clock.clone()).expect("open");
        let mut frames = 0;
        let mut mid = 0.0;
        while let Some(f) = input.read_frame().expect("read") {
            assert_eq!(f.len(), FRAME_SAMPLES);
            if frames == 10 {
                mid = f[100];
            }
            frames += 1;
        }
        assert_eq!(frames, 16_000usize.div_ceil(FRAME_SAMPLES));
        assert!((mid - 0.25).abs() < 0.01, "mono mix of 0.5 and 0: {mid}");
        assert!(clock.now() >= Duration::from_secs(1));
    }

    #[test]
    fn missing_file_is_named() {
        let err = WavInput::open(Path::new("/nonexistent/x.wav"), false, Clock::wall())
            .expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent/x.wav"), "{err}");
    }

    #[test]
    fn output_records_what_was_played() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.wav");
        let clock = Clock::samples(SAMPLE_RATE);
        let mut out = WavOutput::create(&path, clock).expect("create");
        out.play(&Pcm {
            samples: vec![0.5; 22_050],
            sample_rate: 22_050,
        })
        .expect("play");
        out.finish().expect("finish");
        let pcm = read_wav_mono(&path).expect("read back");
        assert_eq!(pcm.sample_rate, 22_050);
        assert_eq!(pcm.samples.len(), 22_050);
    }
}
