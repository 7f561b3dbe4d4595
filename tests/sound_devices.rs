//! Black-box: `attune run --input device:… --output device:…` through the real cpal capture and
//! rodio playback, on virtual sound devices with a clock.
//!
//! This machine kind has no sound card. ALSA's `null`/`file` plugins are not clocked (they run
//! as fast as they are read), so the devices here are PulseAudio null sinks reached through
//! ALSA's `pulse` plugin (libasound2-plugins) — the route a Raspberry Pi OS desktop image takes
//! to its PipeWire server. A customer recording is played into the sink behind the virtual
//! microphone (`attune_mic`, the sink's monitor); the kiosk's voice is recorded from the sink
//! behind the virtual speaker (`attune_speaker`) and transcribed back. Staff are a real
//! mosquitto and a subscriber that acknowledges.

mod mqtt_harness;
mod support;

use mqtt_harness::{Broker, Msg, Staff, runtime, signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{example_config, model, repo_file};

const MIC_SINK: &str = "attune_mic_feed";
const SPEAKER_SINK: &str = "attune_speaker_sink";
const STATUS: &str = "attune/central-station/kiosk-1/status";

/// A PulseAudio server of its own (own socket, own HOME with an `.asoundrc` naming the
/// virtual devices), killed on drop.
struct SoundServer {
    dir: tempfile::TempDir,
    server: Child,
    mic_module: Option<String>,
    speaker_module: Option<String>,
}

impl SoundServer {
    /// A server with the virtual speaker and, when `microphone`, the virtual microphone.
    fn start(microphone: bool) -> SoundServer {
        let pulseaudio = Path::new("/usr/bin/pulseaudio");
        assert!(
            pulseaudio.is_file() && Path::new("/usr/bin/pactl").is_file(),
            "PulseAudio is missing: run scripts/setup.sh (apt-get install pulseaudio \
             pulseaudio-utils libasound2-plugins)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let socket = runtime.join("native");
        std::fs::write(
            dir.path().join("server.pa"),
            format!(
                "load-module module-native-protocol-unix auth-anonymous=1 socket={}\n\
                 load-module module-cli-protocol-unix socket={}\n",
                socket.display(),
                runtime.join("cli").display()
            ),
        )
        .expect("server.pa");
        std::fs::write(
            home.join(".asoundrc"),
            format!(
                "pcm.attune_mic {{\n  type pulse\n  device \"{MIC_SINK}.monitor\"\n  \
                 hint {{ show on description \"attune test microphone\" }}\n}}\n\
                 pcm.attune_speaker {{\n  type pulse\n  device \"{SPEAKER_SINK}\"\n  \
                 hint {{ show on description \"attune test speaker\" }}\n}}\n"
            ),
        )
        .expect(".asoundrc");
        let log = std::fs::File::create(dir.path().join("pulseaudio.log")).expect("log");
        let mut cmd = Command::new(pulseaudio);
        cmd.args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
        ])
        .arg("-F")
        .arg(dir.path().join("server.pa"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
        let mut server = SoundServer {
            server: Self::with_env(&mut cmd, dir.path())
                .spawn()
                .expect("pulseaudio"),
            dir,
            mic_module: None,
            speaker_module: None,
        };
        let up = mqtt_harness::wait_for(Duration::from_secs(10), || {
            server.pactl_ok(&["info"]).is_some()
        });
        assert!(up, "PulseAudio did not start: {}", server.log());
        server.plug_speaker();
        if microphone {
            server.plug_microphone();
        }
        server
    }

    fn with_env<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
        cmd.env("HOME", dir.join("home"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env(
                "PULSE_SERVER",
                format!("unix:{}", dir.join("run").join("native").display()),
            )
    }

    /// A command that sees this server and its ALSA devices.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        Self::with_env(&mut cmd, self.dir.path());
        cmd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulseaudio.log")).unwrap_or_default()
    }

    fn pactl_ok(&self, args: &[&str]) -> Option<String> {
        let out = self.command("pactl").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn pactl(&self, args: &[&str]) -> String {
        self.pactl_ok(args)
            .unwrap_or_else(|| panic!("pactl {args:?} failed: {}", self.log()))
    }

    /// A virtual sound card appears: a null sink named `name`; returns its module.
    fn load_null_sink(&self, name: &str) -> String {
        self.pactl(&[
            "load-module",
            "module-null-sink",
            &format!("sink_name={name}"),
            "rate=48000",
            "channels=2",
        ])
        .trim()
        .to_string()
    }

    /// Ends the kiosk's streams of one kind (`source-output` for capture, `sink-input` for
    /// playback), as a device that vanishes ends them.
    fn end_streams(&self, kind: &str, kiosk_pid: u32) {
        let listing = self.pactl(&["list", &format!("{kind}s")]);
        let header = if kind == "source-output" {
            "Source Output #"
        } else {
            "Sink Input #"
        };
        let pid = format!("application.process.id = \"{kiosk_pid}\"");
        for block in listing.split(header).skip(1) {
            if block.contains(&pid) {
                let index = block.split_whitespace().next().unwrap_or_default();
                self.cli(&format!("kill-{kind} {index}"));
            }
        }
    }

    /// The virtual microphone appears (its sink is created).
    fn plug_microphone(&mut self) {
        self.mic_module = Some(self.load_null_sink(MIC_SINK));
    }

    /// The virtual microphone vanishes under the kiosk: its sink is removed and the kiosk's
    /// capture stream is ended (PulseAudio would otherwise move it to another source).
    fn unplug_microphone(&mut self, kiosk_pid: u32) {
        if let Some(m) = self.mic_module.take() {
            self.pactl(&["unload-module", &m]);
        }
        self.end_streams("source-output", kiosk_pid);
    }

    /// The virtual speaker appears.
    fn plug_speaker(&mut self) {
        self.speaker_module = Some(self.load_null_sink(SPEAKER_SINK));
    }

    /// The virtual speaker vanishes: the kiosk's playback stream is ended, then its sink
    /// removed (in that order, so PulseAudio cannot move the stream to the microphone's sink).
    fn unplug_speaker(&mut self, kiosk_pid: u32) {
        self.end_streams("sink-input", kiosk_pid);
        if let Some(m) = self.speaker_module.take() {
            self.pactl(&["unload-module", &m]);
        }
    }

    /// Runs a command of PulseAudio's command-line interface (pactl has no "kill"; pacmd
    /// needs a PID file).
    fn cli(&self, command: &str) {
        use std::io::{Read, Write};
        let path = self.dir.path().join("run").join("cli");
        let mut s = std::os::unix::net::UnixStream::connect(&path).expect("PulseAudio CLI socket");
        s.write_all(format!("{command}\n").as_bytes())
            .and_then(|()| s.shutdown(std::net::Shutdown::Write))
            .expect("CLI command");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(
            !answer.contains("ailed") && !answer.contains("You need"),
            "{command}: {answer}"
        );
    }

    /// Plays a recording into the virtual microphone, in real time; returns when it is done.
    fn say_into_microphone(&self, wav: &Path) {
        let status = self
            .command("paplay")
            .arg(format!("--device={MIC_SINK}"))
            .arg(wav)
            .status()
            .expect("paplay");
        assert!(status.success(), "paplay {}", wav.display());
    }

    /// Records the virtual speaker to a 16 kHz mono WAV until the child is stopped.
    fn record_speaker(&self, wav: &Path) -> Child {
        self.command("parecord")
            .arg(format!("--device={SPEAKER_SINK}.monitor"))
            .args(["--file-format=wav", "--rate=16000", "--channels=1"])
            .arg(wav)
            .spawn()
            .expect("parecord")
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn terminate(child: &mut Child) {
    signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
}

/// A kiosk on the virtual devices (`attune -v run`, its log in `kiosk.log`), a real broker
/// with staff who acknowledge, and the virtual speaker being recorded.
struct Rig {
    kiosk: Child,
    recorder: Child,
    staff: Staff,
    sound: SoundServer,
    log: PathBuf,
    speaker_wav: PathBuf,
    _broker: Broker,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Everything started; the virtual microphone exists only when `microphone`.
    fn start(microphone: bool) -> Rig {
        model("ggml-tiny.en-q8_0.bin");
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime();
        let broker = Broker::start(false);
        let staff = Staff::connect(rt.handle(), broker.port, "staff", &["attune/#"], true);
        let sound = SoundServer::start(microphone);
        let url = broker.url();
        let config = example_config(dir.path(), |t| {
            t.replace("url = \"embedded\"", &format!("url = \"{url}\""))
        });
        let log = dir.path().join("kiosk.log");
        let speaker_wav = dir.path().join("speaker.wav");
        let recorder = sound.record_speaker(&speaker_wav);
        let kiosk = sound
            .command(env!("CARGO_BIN_EXE_attune"))
            .args(["-v", "run", "--config"])
            .arg(&config)
            .args([
                "--input",
                "device:attune_mic",
                "--output",
                "device:attune_speaker",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).expect("kiosk log")))
            .spawn()
            .expect("attune run");
        Rig {
            kiosk,
            recorder,
            staff,
            sound,
            log,
            speaker_wav,
            _broker: broker,
            _rt: rt,
            _dir: dir,
        }
    }

    /// The kiosk's log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the status topic's `audio` field satisfies `want` (30 s at most).
    fn wait_for_audio_state(&mut self, want: impl Fn(&str) -> bool, what: &str) {
        self.wait_for_status("audio", want, what);
    }

    /// Waits until the status topic's `field` satisfies `want` (30 s at most).
    fn wait_for_status(&mut self, field: &str, want: impl Fn(&str) -> bool, what: &str) {
        let ok = self
            .staff
            .wait_until(Duration::from_secs(30), |seen: &[Msg]| {
                seen.iter()
                    .rev()
                    .find(|m| m.topic == STATUS)
                    .is_some_and(|m| want(m.json()[field].as_str().unwrap_or_default()))
            });
        assert!(
            ok,
            "status topic never said {what} (last {field}: {:?})\n{}",
            status_field(&self.staff, field),
            self.log()
        );
    }

    /// The speaker is recorded afresh (its recorder ended with the sink it listened to).
    fn record_again(&mut self) {
        terminate(&mut self.recorder);
        self.speaker_wav = self.speaker_wav.with_file_name("speaker-again.wav");
        self.recorder = self.sound.record_speaker(&self.speaker_wav);
    }

    fn assert_kiosk_running(&mut self) {
        assert!(
            matches!(self.kiosk.try_wait(), Ok(None)),
            "the kiosk kept running\n{}",
            self.log()
        );
    }

    /// Stops the kiosk and the recorder; what the virtual speaker said, recognised.
    fn finish(&mut self) -> String {
        terminate(&mut self.kiosk);
        terminate(&mut self.recorder);
        transcribe(&self.sound, &self.speaker_wav)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // After a failed assertion: nothing left running.
        let _ = self.kiosk.kill();
        let _ = self.kiosk.wait();
        let _ = self.recorder.kill();
        let _ = self.recorder.wait();
    }
}

fn status_field(staff: &Staff, field: &str) -> String {
    staff
        .last_on(STATUS)
        .map(|m| m.json()[field].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// What the kiosk said, recognised by `attune transcribe` from the virtual speaker's recording
/// in 20 s windows overlapping by 10 s (every word is whole in one of them): whisper on one
/// long recording with long silences may stop early.
fn transcribe(sound: &SoundServer, wav: &Path) -> String {
    let pcm = attune::audio::read_wav_mono(wav).expect("speaker recording");
    let rate = pcm.sample_rate as usize;
    let dir = wav.with_extension("windows");
    std::fs::create_dir_all(&dir).expect("windows dir");
    let mut windows = Vec::new();
    let mut start = 0;
    while start < pcm.samples.len() {
        let end = (start + 20 * rate).min(pcm.samples.len());
        let path = dir.join(format!("{:03}.wav", windows.len()));
        attune::audio::write_wav_mono(&path, &pcm.samples[start..end], pcm.sample_rate)
            .expect("window");
        windows.push(path);
        start += 10 * rate;
    }
    let out = sound
        .command(env!("CARGO_BIN_EXE_attune"))
        .arg("transcribe")
        .args(&windows)
        .output()
        .expect("attune transcribe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

#[test]
fn a_customer_is_heard_and_answered_through_sound_devices_and_the_microphone_comes_back() {
    let mut rig = Rig::start(true);
    let listed = rig
        .sound
        .command(env!("CARGO_BIN_EXE_attune"))
        .arg("list-devices")
        .output()
        .expect("list-devices");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("attune_mic") && listed.contains("attune_speaker"),
        "list-devices shows the virtual devices:\n{listed}"
    );
    rig.wait_for_audio_state(|a| a == "device:attune_mic", "listening");

    // Customer A: an emergency. Staff acknowledge (the subscriber answers as "Sam").
    rig.sound
        .say_into_microphone(&repo_file("tests/fixtures/demo/11-safety.wav"));
    let alerted = rig.staff.wait_until(Duration::from_secs(60), |seen| {
        seen.iter().any(|m| m.alert_id().is_some())
    });
    assert!(
        alerted,
        "no alert from the microphone's customer\n{}",
        rig.log()
    );
    std::thread::sleep(Duration::from_secs(8));

    // The microphone vanishes mid-conversation, and comes back.
    rig.sound.unplug_microphone(rig.kiosk.id());
    rig.wait_for_audio_state(|a| a.starts_with("input lost"), "input lost");
    std::thread::sleep(Duration::from_secs(3));
    rig.sound.plug_microphone();
    rig.wait_for_audio_state(|a| a == "device:attune_mic", "recovered");
    rig.assert_kiosk_running();

    // The next customer is heard and answered.
    rig.sound
        .say_into_microphone(&repo_file("tests/fixtures/demo/01-calm-toilets.wav"));
    std::thread::sleep(Duration::from_secs(8));
    let said = rig.finish();
    let kiosk_log = rig.log();
    for words in ["member of staff", "sam", "toilet"] {
        assert!(
            said.contains(words),
            "the speaker said {words:?}: {said}\n{kiosk_log}"
        );
    }
    assert_eq!(
        kiosk_log.matches("microphone open").count(),
        2,
        "the microphone was reopened once, the kiosk not restarted\n{kiosk_log}"
    );
}

#[test]
fn a_microphone_missing_at_start_is_waited_for_and_then_heard() {
    let mut rig = Rig::start(false);
    // No microphone yet (unplugged, or held by another program): the kiosk starts anyway,
    // says so on the status topic and keeps trying.
    rig.wait_for_audio_state(|a| a.starts_with("input lost"), "input lost");
    rig.assert_kiosk_running();
    rig.sound.plug_microphone();
    rig.wait_for_audio_state(|a| a == "device:attune_mic", "listening");

    rig.sound
        .say_into_microphone(&repo_file("tests/fixtures/demo/02-train-cancelled.wav"));
    std::thread::sleep(Duration::from_secs(8));
    let said = rig.finish();
    assert!(
        said.contains("departure screens"),
        "the customer was answered about train times: {said}\n{}",
        rig.log()
    );
}

#[test]
fn a_speaker_that_vanishes_is_reported_and_reopened_and_the_next_customer_hears_the_reply() {
    let mut rig = Rig::start(true);
    rig.wait_for_audio_state(|a| a == "device:attune_mic", "listening");
    rig.wait_for_status("speaker", |s| s == "device:attune_speaker", "speaking");

    // The speaker is pulled out; a customer asks something. Their reply cannot be heard: the
    // kiosk notices the speaker takes no audio, says so, and does not wait for it for ever.
    rig.sound.unplug_speaker(rig.kiosk.id());
    rig.sound
        .say_into_microphone(&repo_file("tests/fixtures/demo/02-train-cancelled.wav"));
    rig.wait_for_status("speaker", |s| s.starts_with("output lost"), "output lost");
    rig.assert_kiosk_running();

    // It comes back and is reopened; the next customer hears their answer.
    rig.sound.plug_speaker();
    rig.record_again();
    rig.wait_for_status("speaker", |s| s == "device:attune_speaker", "recovered");
    rig.sound
        .say_into_microphone(&repo_file("tests/fixtures/demo/01-calm-toilets.wav"));
    std::thread::sleep(Duration::from_secs(8));
    let said = rig.finish();
    let kiosk_log = rig.log();
    assert!(
        said.contains("toilet"),
        "the next customer was answered through the reopened speaker: {said}\n{kiosk_log}"
    );
    assert!(
        kiosk_log.contains("speaker open: attune_speaker (again)"),
        "the speaker was reopened, the kiosk not restarted\n{kiosk_log}"
    );
}
