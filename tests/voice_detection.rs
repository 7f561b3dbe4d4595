//! Silero VAD (tract) behind the energy gate, with the endpointing segmenter, on real audio:
//! speech mixed into noise at 10 dB SNR is found; synthetic noise alone gives no utterance.

mod support;

use attune::audio::{FRAME_SAMPLES, SAMPLE_RATE, read_wav_mono, resample};
use attune::vad::{Segment, Segmenter, SileroVad, VadConfig, VoiceDetector, gated_probability};
use std::path::Path;
use support::{model, test_data};

fn audio(path: &Path) -> Vec<f32> {
    let pcm = read_wav_mono(path).expect("read wav");
    resample(&pcm.samples, pcm.sample_rate, SAMPLE_RATE).expect("resample")
}

/// Utterances found, as (start, end) sample positions.
fn utterances(vad: &mut SileroVad, audio: &[f32]) -> Vec<(usize, usize)> {
    let cfg = VadConfig::default();
    vad.reset();
    let mut seg = Segmenter::new(cfg.clone());
    let mut found = Vec::new();
    let mut start = 0;
    for (i, frame) in audio.chunks_exact(FRAME_SAMPLES).enumerate() {
        let p = gated_probability(vad, frame, cfg.energy_gate_db);
        for s in seg.push(frame, p) {
            match s {
                Segment::Started => start = i * FRAME_SAMPLES,
                Segment::Ended(_) => found.push((start, (i + 1) * FRAME_SAMPLES)),
                Segment::Discarded | Segment::Paused(_) | Segment::Resumed => {}
            }
        }
    }
    if let Some(Segment::Ended(_)) = seg.flush() {
        found.push((start, audio.len()));
    }
    found
}

#[test]
fn speech_in_noise_at_10_db_is_found() {
    let Some(data) = test_data("VAD in noise") else {
        return;
    };
    let mut vad = SileroVad::load(&model("vad/silero_vad_openvino_16k.onnx")).expect("load VAD");
    let clips = [
        "000010113.wav",
        "000010145.wav",
        "000050118.wav",
        "000010115.wav",
        "000050095.wav",
    ];
    let noises = [
        "cafe",
        "traffic",
        "running_tap",
        "doing_the_dishes",
        "white_noise",
        "pink_noise",
    ];
    let (mut found, mut total) = (0, 0);
    for noise_name in noises {
        let noise = audio(&data.join(format!("noise/{noise_name}.wav")));
        for clip in clips {
            let speech = audio(&data.join("speech/speechocean762").join(clip));
            let lead = SAMPLE_RATE as usize;
            let mut padded = vec![0.0; lead];
            padded.extend(&speech);
            padded.extend(vec![0.0; lead]);
            // Noise runs through the whole clip, scaled so the speech is 10 dB above it.
            let span = &noise[..padded.len().min(noise.len())];
            let gain = gain_for_snr(&speech, &span[lead..lead + speech.len()], 10.0);
            let mixed: Vec<f32> = span
                .iter()
                .zip(&padded)
                .map(|(n, s)| s + n * gain)
                .collect();
            total += 1;
            let hits = utterances(&mut vad, &mixed);
            if hits
                .iter()
                .any(|&(a, b)| a < lead + speech.len() && b > lead)
            {
                found += 1;
            } else {
                eprintln!("missed {clip} in {noise_name}");
            }
        }
    }
    eprintln!("VAD found the speech in {found}/{total} clips at 10 dB SNR");
    assert!(found * 10 >= total * 9, "found only {found}/{total}");
}

/// Noise gain that puts `speech` `snr_db` above `noise` (mean power over the speech).
fn gain_for_snr(speech: &[f32], noise: &[f32], snr_db: f32) -> f32 {
    let power = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32;
    let pn = power(noise);
    if pn > 0.0 {
        (power(speech) / (pn * 10f32.powf(snr_db / 10.0))).sqrt()
    } else {
        0.0
    }
}

#[test]
fn synthetic_noise_alone_gives_no_utterance_and_real_noise_is_counted() {
    let Some(data) = test_data("VAD on noise") else {
        return;
    };
    let mut vad = SileroVad::load(&model("vad/silero_vad_openvino_16k.onnx")).expect("load VAD");
    for name in ["white_noise", "pink_noise"] {
        let noise = audio(&data.join(format!("noise/{name}.wav")));
        let minute: Vec<f32> = noise
            .iter()
            .copied()
            .cycle()
            .take(60 * SAMPLE_RATE as usize)
            .collect();
        let hits = utterances(&mut vad, &minute);
        assert!(
            hits.is_empty(),
            "{name}: {} false utterances in 60 s",
            hits.len()
        );
    }
    for name in [
        "cafe",
        "doing_the_dishes",
        "dude_miaowing",
        "exercise_bike",
        "fridge",
        "running_tap",
        "traffic",
    ] {
        let noise = audio(&data.join(format!("noise/{name}.wav")));
        let hits = utterances(&mut vad, &noise);
        eprintln!(
            "false utterances on {name} ({:.0} s): {}",
            noise.len() as f32 / SAMPLE_RATE as f32,
            hits.len()
        );
    }
}
