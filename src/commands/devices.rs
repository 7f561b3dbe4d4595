//! `attune list-devices`: the sound devices ALSA offers, with their formats.

use std::process::ExitCode;

/// Lists capture and playback devices.
pub(super) fn list() -> anyhow::Result<ExitCode> {
    let devices = attune::audio::list_devices()?;
    if devices.is_empty() {
        println!("no audio devices found (is the user in the `audio` group? is ALSA configured?)");
    }
    for d in devices {
        let default = if d.is_default { " (default)" } else { "" };
        println!("{:<6} {}{}", d.direction, d.name, default);
        for f in d.formats {
            println!("         {f}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
