//! `attune demo`: scripted help-point scenarios through the real pipeline (Silero VAD,
//! whisper, the stress classifier, Piper, MQTT through an embedded broker), with a simulated
//! member of staff who acknowledges alerts. Prints each turn and writes the kiosk's replies as
//! WAV files.

use anyhow::{Context, anyhow};
use attune::alerts::{Credentials, EmbeddedBroker, StaffClient};
use attune::app::build::{self, Io};
use attune::app::{RunReport, run};
use attune::audio::{Clock, SAMPLE_RATE, WavInput, WavOutput};
use attune::config::Config;
use attune::shutdown::Shutdown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Silence after each customer line: room for the kiosk's whole reply before the next line.
const GAP_S: f32 = 16.0;
/// How long the simulated member of staff takes to acknowledge.
const STAFF_DELAY: Duration = Duration::from_millis(800);

struct Scenario {
    title: &'static str,
    lines: &'static [&'static str],
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        title: "a traveller whose train was cancelled: a calm question, then rising frustration",
        lines: &[
            "01-calm-toilets.wav",
            "02-train-cancelled.wav",
            "03-frustrated.wav",
            "04-distressed.wav",
        ],
    },
    Scenario {
        title: "a medical emergency: a safety phrase alerts at once",
        lines: &["11-safety.wav"],
    },
];

/// Runs every scenario; replies go to `out_dir/scenario-N-kiosk.wav`.
pub(super) fn demo(out_dir: &Path, real_time: bool) -> anyhow::Result<ExitCode> {
    // Absolute before it goes into the config: the config resolves relative paths against the
    // example's directory, which would put the outbox beside the installed example and leave
    // an earlier demo's alerts there to be re-sent.
    let out_dir = &std::path::absolute(out_dir)
        .with_context(|| format!("resolving {}", out_dir.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let fixtures = fixtures_dir()?;
    let mut config = super::setup::config_or_example(None)?;
    config.kiosk.state_dir = out_dir.join("state");
    // A fresh outbox each demo: old alerts from an earlier demo would be re-sent.
    let _ = std::fs::remove_dir_all(&config.kiosk.state_dir);
    let runtime = super::setup::runtime()?;
    let broker = EmbeddedBroker::start(
        "127.0.0.1:0".parse()?,
        &config.state_dir(),
        &build::broker_scope(&config),
        runtime.handle(),
    )?;
    config.mqtt.url = broker.url();
    config.mqtt.credentials_file = Some(broker.kiosk_credentials().to_path_buf());
    let staff_login = Credentials::read(broker.staff_credentials()).map_err(|e| anyhow!(e))?;
    println!(
        "attune demo: embedded MQTT broker at {}; replies are written to {}\n",
        broker.url(),
        out_dir.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let pager = Pager::default();
    let staff = spawn_staff(&config, &staff_login, pager.clone(), stop.clone())?;
    let shutdown = Shutdown::new();
    {
        let _rt = runtime.enter();
        shutdown.on_signals();
    }
    let mut alerts = 0;
    let mut acks = 0;
    for (i, scenario) in SCENARIOS.iter().enumerate() {
        println!("=== Scenario {}: {}", i + 1, scenario.title);
        let audio = scenario_audio(&fixtures, scenario.lines)?;
        let clock = Clock::samples(SAMPLE_RATE);
        let wav_out = out_dir.join(format!("scenario-{}-kiosk.wav", i + 1));
        let io = Io {
            input: Box::new(WavInput::from_samples(
                audio,
                scenario.title,
                real_time,
                clock.clone(),
            )),
            output: Box::new(WavOutput::create(&wav_out, clock.clone())?),
            clock,
            paced_by_pipeline: !real_time,
            keep_report: true,
        };
        let components = build::components(&config, io, runtime.handle())?;
        let report = run(&config, components, &shutdown)?;
        print_report(&report, &pager);
        alerts += report.alerts.len();
        acks += report.acks.len();
        println!("    kiosk audio: {}\n", wav_out.display());
        if shutdown.is_triggered() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = staff.join();
    println!("attune demo: {alerts} alert(s) delivered over MQTT, {acks} acknowledged by staff");
    Ok(if alerts > 0 && acks == alerts {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What the simulated member of staff's pager showed, per alert id, until the report of the
/// scenario that raised the alert prints it after the alert itself.
#[derive(Debug, Clone, Default)]
struct Pager(Arc<Mutex<Vec<(String, String)>>>);

impl Pager {
    fn show(&self, alert_id: &str, line: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((alert_id.to_string(), line));
    }

    /// Lines shown for `alert_id` (all lines for `None`), removed from the pager.
    fn take(&self, alert_id: Option<&str>) -> Vec<String> {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (taken, kept) = std::mem::take(&mut *lines)
            .into_iter()
            .partition(|(id, _)| alert_id.is_none_or(|a| a == id));
        *lines = kept;
        taken.into_iter().map(|(_, line)| line).collect()
    }
}

fn print_report(report: &RunReport, pager: &Pager) {
    for t in &report.turns {
        let intent = t
            .intent
            .as_ref()
            .map(|(id, c)| format!("{id} ({c:.2})"))
            .unwrap_or_else(|| "-".into());
        let voice = t
            .acoustic
            .map(|p| format!("{p:.2}"))
            .unwrap_or_else(|| "-".into());
        println!("  customer: \"{}\"", t.transcript);
        println!(
            "            stress {:.2} {:?} (voice {voice}){}  intent {intent}",
            t.stress.score,
            t.stress.level,
            if t.stress.reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", t.stress.reasons.join("; "))
            }
        );
        if let Some((id, reason)) = &t.alert {
            println!(
                "  ALERT     {id} reason {} -> committed to the outbox, published over MQTT",
                reason.code()
            );
            for line in pager.take(Some(id)) {
                println!("{line}");
            }
        }
        for r in &t.replies {
            println!("  kiosk:    \"{r}\"");
        }
    }
    for line in pager.take(None) {
        println!("{line}");
    }
    for a in &report.acks {
        let eta = a
            .eta_s
            .map(|s| format!(", arriving in about {s} s"))
            .unwrap_or_default();
        println!(
            "  staff:    {} acknowledged {}{eta}",
            a.by.as_deref().unwrap_or("someone"),
            a.alert_id,
        );
    }
}

/// A simulated member of staff: prints each alert as a pager would and acknowledges it.
fn spawn_staff(
    config: &Config,
    login: &Credentials,
    pager: Pager,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let mut client = StaffClient::connect(
        &config.mqtt.url,
        &config.mqtt.topic_prefix,
        &config.kiosk.site,
        Some(login),
    )?;
    Ok(std::thread::Builder::new().name("demo-staff".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Some(alert) = client.next_alert(Duration::from_millis(200)) else {
                continue;
            };
            let hints = &alert.hints;
            pager.show(
                &alert.alert_id,
                format!(
                    "  [staff pager] {} at {}: reason {}, customer sounds {}; needs {}; say: \"{}\"",
                    alert.alert_id,
                    alert.kiosk.location,
                    alert.reason.code(),
                    hints.sounds,
                    hints.needs,
                    hints.first_sentence
                ),
            );
            std::thread::sleep(STAFF_DELAY);
            if let Err(e) = client.acknowledge(&alert, "Sam", 120) {
                pager.show(
                    &alert.alert_id,
                    format!("  [staff pager] cannot acknowledge: {e}"),
                );
            }
        }
    })?)
}

/// The customer's lines, each followed by a pause long enough for the kiosk to answer.
fn scenario_audio(dir: &Path, lines: &[&str]) -> anyhow::Result<Vec<f32>> {
    let mut out = vec![0.0; SAMPLE_RATE as usize];
    for name in lines {
        out.extend(super::setup::read_16k(&dir.join(name))?);
        out.extend(std::iter::repeat_n(
            0.0,
            (GAP_S * SAMPLE_RATE as f32) as usize,
        ));
    }
    Ok(out)
}

/// Where the .deb installs the customer recordings.
const INSTALLED_FIXTURES: &str = "/usr/share/attune/demo";

/// The customer recordings: the source checkout's, else the installed package's.
fn fixtures_dir() -> anyhow::Result<PathBuf> {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo");
    [checkout.clone(), PathBuf::from(INSTALLED_FIXTURES)]
        .into_iter()
        .find(|d| d.join(SCENARIOS[0].lines[0]).is_file())
        .ok_or_else(|| {
            anyhow!(
                "the demo recordings are neither at {} nor at {INSTALLED_FIXTURES} \
                 (run attune demo from a source checkout, or reinstall the attune package)",
                checkout.display()
            )
        })
}
