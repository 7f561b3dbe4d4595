//! `attune eval room`: the kiosk in a simulated room. The microphone signal is built the way a
//! help point receives it — the customer's recorded speech, the kiosk's own reply (Piper)
//! from a loudspeaker near the microphone through a synthetic room, and concourse noise — and
//! run through the listening front end the daemon uses (echo canceller, energy gate, Silero
//! voice detector, segmenter) and the recogniser.
//!
//! Levels: the customer's speech at -26 dBFS (mean power over the utterance); the reply's
//! echo 6 dB louder than that at the microphone (a loudspeaker a few tens of centimetres from
//! it, the customer half a metre to a metre away); noise at a stated SNR below the speech
//! level; the echo delayed 20-150 ms behind the reference (output and input device latency);
//! reverberation times 0.3-1.2 s. Every draw comes from `--seed`.

use anyhow::{Context, bail};
use attune::audio::room::{convolve, impulse_response};
use attune::audio::{
    Aec3, EchoFilter, EchoReference, FRAME_SAMPLES, NoiseSuppressor, SAMPLE_RATE, read_wav_mono,
    resample,
};
use attune::config::Config;
use attune::latency::percentile;
use attune::stress::acoustic::mix::{NoiseBank, splitmix64, uniform};
use attune::stt::wer::wer_percent;
use attune::stt::{SpeechToText, WhisperStt};
use attune::tts::TextToSpeech;
use attune::vad::{EnergyDetector, FrontEnd, Segment, SileroVad};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SPEECH_DBFS: f32 = -26.0;
const ECHO_ABOVE_SPEECH_DB: f32 = 6.0;
/// Noise for the echo and barge-in runs.
const ROOM_SNR_DB: f32 = 10.0;
/// Barge-in detected later than this counts as slow (the target).
const BARGE_IN_TARGET_MS: f64 = 300.0;
/// Two starts this many frames apart (160 ms) are the same sound heard.
const SAME_START_FRAMES: usize = 5;
/// A barge-in not detected within this of the customer's first word is missed.
const BARGE_IN_GIVE_UP_S: f32 = 1.0;

/// What `attune eval room` was asked.
pub(super) struct RoomArgs {
    pub config: Option<PathBuf>,
    pub data: PathBuf,
    pub replies: usize,
    pub clips: usize,
    pub seed: u64,
    pub model: Option<PathBuf>,
    pub noise_suppression: bool,
    pub json: bool,
}

/// One recording with what was said.
struct Clip {
    audio: Vec<f32>,
    text: String,
}

/// The daemon's listening front end with or without attune's echo canceller, frame by
/// frame, as `app::listen` drives it.
struct Ears {
    front: FrontEnd,
    /// The same front end without a canceller, hearing the room's noise alone.
    noise_front: FrontEnd,
    echo: Option<(EchoFilter, EchoReference)>,
    denoise: Option<NoiseSuppressor>,
    raised_threshold_while_speaking: bool,
}

impl Ears {
    fn new(config: &Config) -> anyhow::Result<Self> {
        let model = config.model_path(&config.vad.model);
        let front = || -> anyhow::Result<FrontEnd> {
            let vad = SileroVad::load(&model)?;
            Ok(FrontEnd::new(Box::new(vad), config.vad.clone()))
        };
        Ok(Self {
            front: front()?,
            noise_front: front()?,
            raised_threshold_while_speaking: true,
            echo: None,
            denoise: None,
        })
    }

    /// Noise suppression behind the echo canceller from now on (a fresh one), or none.
    fn suppress_noise(&mut self, on: bool) -> anyhow::Result<()> {
        self.denoise = on.then(NoiseSuppressor::new).transpose()?;
        Ok(())
    }

    /// A new room, with or without attune's echo canceller (a fresh one).
    fn new_room(&mut self, config: &Config, cancel_echo: bool) {
        self.listen_again();
        // The listener raises the threshold while the kiosk speaks unless the hardware
        // removes its voice; behind attune's canceller it stays raised.
        self.raised_threshold_while_speaking = !config.audio.echo_cancellation;
        self.echo = cancel_echo.then(|| {
            let reference = EchoReference::default();
            let filter = EchoFilter::new(Box::new(Aec3::new()), reference.clone());
            (filter, reference)
        });
    }

    /// The detector starts afresh; the echo canceller keeps what it learnt of the room.
    fn listen_again(&mut self) {
        self.front.reset();
        self.noise_front.reset();
    }

    /// The kiosk starts playing `reply` (16 kHz).
    fn play(&mut self, reply: &[f32]) {
        if let Some((_, r)) = &self.echo {
            r.push(reply);
        }
    }

    /// Barge-in: the rest of the reply is not played.
    fn stop(&mut self) {
        if let Some((_, r)) = &self.echo {
            r.clear();
        }
    }

    /// One frame, as the listening thread handles it.
    fn hear(&mut self, frame: &[f32], kiosk_speaking: bool) -> anyhow::Result<Vec<Segment>> {
        let mut frame = frame.to_vec();
        if let Some((filter, _)) = &mut self.echo {
            filter.process(&mut frame)?;
        }
        if let Some(denoise) = &mut self.denoise {
            denoise.process(&mut frame)?;
        }
        let raised = kiosk_speaking && self.raised_threshold_while_speaking;
        Ok(self.front.hear(&frame, raised))
    }

    /// One frame of the room without the kiosk's voice in it, thresholds as in [`Self::hear`].
    fn hear_noise(&mut self, frame: &[f32], kiosk_speaking: bool) -> Vec<Segment> {
        let raised = kiosk_speaking && self.raised_threshold_while_speaking;
        self.noise_front.hear(frame, raised)
    }
}

fn scaled_to(x: &[f32], dbfs: f32) -> Vec<f32> {
    let gain = 10f32.powf((dbfs - EnergyDetector::level_db(x)) / 20.0);
    x.iter().map(|v| v * gain).collect()
}

fn unit(h: u64, shift: u32) -> f32 {
    uniform(h, shift, 0.0, 1.0)
}

/// Where the customer's first word starts: the first 10 ms above 30 dB under the loudest.
fn onset(x: &[f32]) -> usize {
    let block = 160;
    let levels: Vec<f32> = x.chunks(block).map(EnergyDetector::level_db).collect();
    let peak = levels.iter().copied().fold(f32::MIN, f32::max);
    levels.iter().position(|l| *l > peak - 30.0).unwrap_or(0) * block
}

fn add(into: &mut [f32], x: &[f32], at: usize) {
    for (o, v) in into.iter_mut().skip(at).zip(x) {
        *o += v;
    }
}

/// Runs `attune eval room`.
pub(super) fn eval_room(args: RoomArgs) -> anyhow::Result<ExitCode> {
    let config = super::setup::config_or_example(args.config.as_deref())?;
    let clips = load_clips(&args.data, args.clips, args.seed)?;
    let mut noise = NoiseBank::load(&args.data.join("noise"))?;
    if noise.is_empty() {
        bail!(
            "no noise recordings in {}",
            args.data.join("noise").display()
        );
    }
    let replies = synthesise_replies(&config, args.replies)?;
    let kb = config.knowledge_base()?;
    let prompt = attune::app::build::recogniser_prompt(&config, &kb);
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| config.model_path(&config.stt.model));
    let mut stt = WhisperStt::load(&model, &config.stt, prompt)?;

    let mut ears = Ears::new(&config)?;
    let mut room = Room {
        config: &config,
        ears: &mut ears,
        bank: &mut noise,
        stt: &mut stt,
        seed: args.seed,
    };
    let echo_runs = room.echo_runs(&replies, &clips)?;
    let mut plain = room.noise_runs(&clips, false)?;
    if !replies.is_empty() {
        plain
            .wer
            .insert("barge_in_snr10".into(), json!(echo_runs.barge_in_wer));
    }
    let mut out = json!({
        "replies": replies.len(),
        "self_triggered_turns": echo_runs.with_aec.self_triggered,
        "noise_triggered_turns": echo_runs.with_aec.noise_triggered,
        "barge_in_tries": echo_runs.with_aec.tries,
        "barge_in_missed": echo_runs.with_aec.missed,
        "barge_in_p50_ms": echo_runs.with_aec.p50_ms,
        "barge_in_p95_ms": echo_runs.with_aec.p95_ms,
        "barge_in_within_300ms": echo_runs.with_aec.within_target,
        "without_aec": echo_runs.without_aec.summary(),
        "wer": plain.wer,
        "vad_false_triggers": plain.false_triggers,
        "stt_model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        "stt_seconds_per_clip": plain.stt_seconds_per_clip,
        "clips": clips.len(),
        "seed": args.seed,
    });
    if args.noise_suppression {
        let suppressed = room.noise_runs(&clips, true)?;
        out["wer_noise_suppressed"] = json!(suppressed.wer);
        out["vad_false_triggers_noise_suppressed"] = json!(suppressed.false_triggers);
    }
    if !args.json {
        eprintln!(
            "room: {} replies; turns triggered by the kiosk's own voice: {} with AEC, {} without",
            replies.len(),
            echo_runs.with_aec.self_triggered,
            echo_runs.without_aec.self_triggered
        );
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The speech recordings with their reference transcripts, `n` of them chosen by `seed`.
fn load_clips(data: &Path, n: usize, seed: u64) -> anyhow::Result<Vec<Clip>> {
    let dir = data.join("speech").join("speechocean762");
    let refs = dir.join("refs.tsv");
    let text =
        std::fs::read_to_string(&refs).with_context(|| format!("reading {}", refs.display()))?;
    let mut rows: Vec<(u64, String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (file, _, said) = (f.next()?, f.next()?, f.next()?);
            let key = file.bytes().fold(seed, |h, b| splitmix64(h ^ u64::from(b)));
            Some((key, file.to_string(), said.to_string()))
        })
        .collect();
    rows.sort();
    rows.truncate(n);
    rows.into_iter()
        .map(|(_, file, said)| {
            let pcm = read_wav_mono(&dir.join(&file))?;
            Ok(Clip {
                audio: resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE)?,
                text: said,
            })
        })
        .collect()
}

/// `n` of the kiosk's own replies (its fixed prompts and answers, in turn), in its voice.
/// The voice is deterministic, so the figures repeat from run to run.
fn synthesise_replies(config: &Config, n: usize) -> anyhow::Result<Vec<Vec<f32>>> {
    let kb = config.knowledge_base()?;
    let prompts = attune::app::build::fixed_prompts(&config.replies, &kb);
    let mut config = config.clone();
    config.tts.deterministic = true;
    let mut voice = attune::app::build::voice(&config)?;
    prompts
        .iter()
        .cycle()
        .take(n)
        .map(|(text, pace)| {
            let pcm = voice.synthesize(text, *pace)?;
            Ok(resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE)?)
        })
        .collect()
}

/// Figures of one front end over the echo runs.
#[derive(Default)]
struct EchoFigures {
    self_triggered: usize,
    noise_triggered: usize,
    tries: usize,
    missed: usize,
    p50_ms: f64,
    p95_ms: f64,
    within_target: f64,
}

impl EchoFigures {
    /// The figures of the front end compared against.
    fn summary(&self) -> serde_json::Value {
        json!({
            "self_triggered_turns": self.self_triggered,
            "noise_triggered_turns": self.noise_triggered,
            "barge_in_missed": self.missed,
            "barge_in_p50_ms": self.p50_ms,
            "barge_in_within_300ms": self.within_target,
        })
    }
}

/// Speech starts while the kiosk spoke alone, by what set them off.
struct Starts {
    /// Starts the room's noise alone did not set off.
    by_echo: usize,
    /// Starts the noise alone set off too (within [`SAME_START_FRAMES`]).
    by_noise: usize,
}

/// The echo runs with attune's canceller and without it.
struct EchoRuns {
    with_aec: EchoFigures,
    without_aec: EchoFigures,
    barge_in_wer: f64,
}

/// One room for reply `i`: its impulse response and the echo's delay behind the reference.
fn room(seed: u64, i: usize) -> (Vec<f32>, usize) {
    let h = splitmix64(splitmix64(seed ^ 0x0EC0) ^ i as u64);
    let rt60 = 0.3 + 0.9 * unit(h, 0);
    // The loudspeaker is a few tens of centimetres from the microphone, well inside the
    // critical distance of a shop (~1.8 m) or a concourse (~3.7 m): its direct sound is
    // 10-20 dB above the room's reverberation.
    let drr = 10.0 + unit(h, 24) * 10.0;
    // Its own draw: the bits left above `drr`'s are too few for a uniform value.
    let delay_s = 0.02 + 0.13 * unit(splitmix64(h), 0);
    (
        impulse_response(SAMPLE_RATE, rt60, drr, h),
        (delay_s * SAMPLE_RATE as f32) as usize,
    )
}

/// The reply as the microphone hears it: through the room, delayed, at the echo level.
fn echo_of(reply: &[f32], rir: &[f32], delay: usize) -> Vec<f32> {
    let mut echo = vec![0.0; delay];
    echo.extend(convolve(reply, rir));
    let gain =
        10f32.powf((SPEECH_DBFS + ECHO_ABOVE_SPEECH_DB - EnergyDetector::level_db(reply)) / 20.0);
    echo.iter().map(|v| v * gain).collect()
}

/// Everything a simulated room needs.
struct Room<'a> {
    config: &'a Config,
    ears: &'a mut Ears,
    bank: &'a mut NoiseBank,
    stt: &'a mut WhisperStt,
    seed: u64,
}

/// The recogniser behind the detector at one noise level.
struct WerRun {
    wer: f64,
    false_starts: usize,
    stt_seconds_per_clip: f64,
}

/// Word error rates and false starts per noise level (keys clean, snr20, snr10, snr5).
#[derive(Default)]
struct NoiseRuns {
    wer: serde_json::Map<String, serde_json::Value>,
    false_triggers: serde_json::Map<String, serde_json::Value>,
    stt_seconds_per_clip: f64,
}

/// One barge-in try.
struct BargeIn {
    /// From the customer's first word to the detector's "speech started".
    detected_ms: Option<f64>,
    /// What the recogniser made of the customer's words.
    heard: String,
}

impl Room<'_> {
    fn noise(&mut self, len: usize, snr_db: f32, key: (u64, u64, u64)) -> anyhow::Result<Vec<f32>> {
        let (segment, _) = self
            .bank
            .segment(len, SAMPLE_RATE, key)?
            .context("no noise recordings")?;
        Ok(scaled_to(&segment, SPEECH_DBFS - snr_db))
    }

    fn transcribe(&mut self, segments: &[Vec<f32>]) -> anyhow::Result<String> {
        let mut text = String::new();
        for audio in segments {
            let t = self.stt.transcribe(audio)?;
            text.push_str(t.text.trim());
            text.push(' ');
        }
        Ok(text.trim().to_string())
    }

    fn echo_runs(&mut self, replies: &[Vec<f32>], clips: &[Clip]) -> anyhow::Result<EchoRuns> {
        let mut runs = EchoRuns {
            with_aec: EchoFigures::default(),
            without_aec: EchoFigures::default(),
            barge_in_wer: 0.0,
        };
        let mut pairs = Vec::new();
        for aec in [true, false] {
            let mut figures = EchoFigures::default();
            let mut delays = Vec::new();
            for (i, reply) in replies.iter().enumerate() {
                let (rir, delay) = room(self.seed, i);
                // The kiosk has spoken in its room before (at least its greeting): the
                // canceller has heard one other reply there.
                self.ears.new_room(self.config, aec);
                let other = &replies[(i + 1) % replies.len()];
                self.kiosk_alone(other, &rir, delay, (i + replies.len()) as u64)?;
                let starts = self.kiosk_alone(reply, &rir, delay, i as u64)?;
                figures.self_triggered += starts.by_echo;
                figures.noise_triggered += starts.by_noise;
                let clip = &clips[i % clips.len()];
                let try_ = self.barge_in(reply, &rir, delay, clip, i)?;
                figures.tries += 1;
                match try_.detected_ms {
                    Some(ms) => delays.push(ms),
                    None => figures.missed += 1,
                }
                if aec {
                    pairs.push((clip.text.clone(), try_.heard));
                }
            }
            delays.sort_by(f64::total_cmp);
            figures.p50_ms = percentile(&delays, 0.5).unwrap_or(f64::NAN);
            figures.p95_ms = percentile(&delays, 0.95).unwrap_or(f64::NAN);
            figures.within_target = delays.iter().filter(|d| **d <= BARGE_IN_TARGET_MS).count()
                as f64
                / figures.tries.max(1) as f64;
            eprintln!(
                "room: aec={aec}: {} self-triggered ({} by the noise), barge-in missed {}/{}, p50 {:.0} ms",
                figures.self_triggered,
                figures.noise_triggered,
                figures.missed,
                figures.tries,
                figures.p50_ms
            );
            if aec {
                runs.with_aec = figures;
            } else {
                runs.without_aec = figures;
            }
        }
        runs.barge_in_wer = wer_percent(pairs.iter().map(|(r, h)| (r.as_str(), h.as_str())));
        Ok(runs)
    }

    /// The kiosk says `reply` with nobody there, then two seconds of the room: how many
    /// times the detector heard speech start (each would interrupt the kiosk or take a turn).
    /// The room's noise is also heard alone, the kiosk speaking but its voice not reaching
    /// the microphone: a start that one sets off too is the noise's (the concourse has
    /// voices in it), not the kiosk's.
    fn kiosk_alone(
        &mut self,
        reply: &[f32],
        rir: &[f32],
        delay: usize,
        key: u64,
    ) -> anyhow::Result<Starts> {
        let echo = echo_of(reply, rir, delay);
        let len = echo.len() + 2 * SAMPLE_RATE as usize;
        let noise = self.noise(len, ROOM_SNR_DB, (self.seed, key, 1))?;
        let mut mic = noise.clone();
        add(&mut mic, &echo, 0);
        self.ears.listen_again();
        self.ears.play(reply);
        let mut with_echo = Vec::new();
        let mut noise_alone = Vec::new();
        for (f, (frame, quiet)) in mic
            .chunks_exact(FRAME_SAMPLES)
            .zip(noise.chunks_exact(FRAME_SAMPLES))
            .enumerate()
        {
            let speaking = f * FRAME_SAMPLES < reply.len();
            if self.ears.hear(frame, speaking)?.contains(&Segment::Started) {
                with_echo.push(f);
            }
            if self
                .ears
                .hear_noise(quiet, speaking)
                .contains(&Segment::Started)
            {
                noise_alone.push(f);
            }
        }
        let by_noise = with_echo
            .iter()
            .filter(|f| {
                noise_alone
                    .iter()
                    .any(|n| n.abs_diff(**f) <= SAME_START_FRAMES)
            })
            .count();
        Ok(Starts {
            by_echo: with_echo.len() - by_noise,
            by_noise,
        })
    }

    /// A customer starts talking 0.5-1.5 s into `reply`; the kiosk stops when the detector
    /// hears them (or at the reply's end when it does not).
    fn barge_in(
        &mut self,
        reply: &[f32],
        rir: &[f32],
        delay: usize,
        clip: &Clip,
        i: usize,
    ) -> anyhow::Result<BargeIn> {
        let start_s = 0.5 + unit(splitmix64(self.seed ^ 0xBA26 ^ i as u64), 0);
        let start = ((start_s * SAMPLE_RATE as f32) as usize).min(reply.len() / 2);
        let customer = scaled_to(&clip.audio, SPEECH_DBFS);
        let first_word = start + onset(&customer);
        let len = (start + customer.len()).max(reply.len() + delay) + 3 * SAMPLE_RATE as usize;
        let mut room = self.noise(len, ROOM_SNR_DB, (self.seed, i as u64, 2))?;
        add(&mut room, &customer, start);
        let mut mic = room.clone();
        add(&mut mic, &echo_of(reply, rir, delay), 0);
        self.ears.listen_again();
        self.ears.play(reply);
        let mut stopped_at: Option<usize> = None;
        let mut detected_ms = None;
        let mut segments = Vec::new();
        let mut f = 0;
        while (f + 1) * FRAME_SAMPLES <= len {
            let at = f * FRAME_SAMPLES;
            let speaking = stopped_at.is_none() && at < reply.len();
            let frame = &mic[at..at + FRAME_SAMPLES];
            for seg in self.ears.hear(frame, speaking)? {
                match seg {
                    Segment::Started if speaking => {
                        let end = at + FRAME_SAMPLES;
                        if end + FRAME_SAMPLES >= first_word {
                            let ms =
                                (end as f64 - first_word as f64) * 1000.0 / f64::from(SAMPLE_RATE);
                            if ms <= f64::from(BARGE_IN_GIVE_UP_S) * 1000.0 {
                                detected_ms = Some(ms.max(0.0));
                            }
                        }
                        // Barge-in: the kiosk stops; the room keeps only the echo's tail.
                        stopped_at = Some(end);
                        self.ears.stop();
                        mic = room.clone();
                        add(
                            &mut mic,
                            &echo_of(&reply[..end.min(reply.len())], rir, delay),
                            0,
                        );
                    }
                    Segment::Ended(audio) => segments.push(audio),
                    _ => {}
                }
            }
            f += 1;
        }
        let heard = self.transcribe(&segments)?;
        Ok(BargeIn { detected_ms, heard })
    }

    /// The word error rates and false starts clean and at 20, 10 and 5 dB SNR, with or
    /// without noise suppression in front of the detector.
    fn noise_runs(&mut self, clips: &[Clip], suppress: bool) -> anyhow::Result<NoiseRuns> {
        let mut runs = NoiseRuns::default();
        for snr in [None, Some(20.0), Some(10.0), Some(5.0)] {
            let name = snr.map_or("clean".to_string(), |s: f32| format!("snr{s:.0}"));
            let run = self.wer_run(clips, snr, suppress)?;
            eprintln!(
                "room: {name}{}: WER {:.1}%, {} VAD false triggers, {:.2} s per clip",
                if suppress { " (suppressed)" } else { "" },
                run.wer,
                run.false_starts,
                run.stt_seconds_per_clip
            );
            if snr.is_none() {
                runs.stt_seconds_per_clip = run.stt_seconds_per_clip;
            }
            runs.wer.insert(name.clone(), json!(run.wer));
            runs.false_triggers.insert(name, json!(run.false_starts));
        }
        Ok(runs)
    }

    /// Word error rate of the recogniser behind the detector, the detector's false starts in
    /// the two seconds of noise before each customer, at `snr_db` (or clean), and the
    /// recogniser's time.
    fn wer_run(
        &mut self,
        clips: &[Clip],
        snr_db: Option<f32>,
        suppress: bool,
    ) -> anyhow::Result<WerRun> {
        let lead = 2 * SAMPLE_RATE as usize;
        let mut pairs = Vec::new();
        let mut false_starts = 0;
        let mut stt_seconds = 0.0;
        for (i, clip) in clips.iter().enumerate() {
            let customer = scaled_to(&clip.audio, SPEECH_DBFS);
            let len = lead + customer.len() + SAMPLE_RATE as usize;
            let mut mic = match snr_db {
                Some(snr) => self.noise(len, snr, (self.seed, i as u64, 3))?,
                None => vec![0.0; len],
            };
            add(&mut mic, &customer, lead);
            let first_word = lead + onset(&customer);
            self.ears.new_room(self.config, false);
            self.ears.suppress_noise(suppress)?;
            let mut segments = Vec::new();
            for (f, frame) in mic.chunks_exact(FRAME_SAMPLES).enumerate() {
                for seg in self.ears.hear(frame, false)? {
                    match seg {
                        Segment::Started if (f + 2) * FRAME_SAMPLES < first_word => {
                            false_starts += 1;
                        }
                        Segment::Ended(audio) => segments.push(audio),
                        _ => {}
                    }
                }
            }
            if let Some(Segment::Ended(audio)) = self.ears.front.flush() {
                segments.push(audio);
            }
            let started = std::time::Instant::now();
            pairs.push((clip.text.clone(), self.transcribe(&segments)?));
            stt_seconds += started.elapsed().as_secs_f64();
        }
        self.ears.suppress_noise(false)?;
        Ok(WerRun {
            wer: wer_percent(pairs.iter().map(|(r, h)| (r.as_str(), h.as_str()))),
            false_starts,
            stt_seconds_per_clip: stt_seconds / clips.len().max(1) as f64,
        })
    }
}
