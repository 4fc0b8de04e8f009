//! The browser the console's end-to-end tests drive (`tests/console.rs`):
//! Debian's `chromium` and `chromium-driver`, installed with apt-get when
//! missing and xtask runs as root. Without them those tests skip with a
//! note, except in CI (`CI=true`), where a browser that cannot be had is a
//! failure: the console is tested in a real browser or not at all.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run;

/// Debian's packages of the browser and its WebDriver, and the fonts its
/// screenshots of the Chinese labels need.
const PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-noto-cjk"];
/// Where they install what the tests start (`tests/harness/browser.rs`).
const BINARIES: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromedriver"];

fn installed() -> bool {
    BINARIES.iter().all(|b| Path::new(b).exists())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn install() -> Result<()> {
    if !is_root() {
        bail!("installing {} needs root", PACKAGES.join(", "));
    }
    eprintln!(
        "xtask: installing {} for the console's browser tests",
        PACKAGES.join(", ")
    );
    run(Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .context("apt-get update")?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .context("apt-get install")
}

/// Makes sure the browser is there, installing it if it can.
pub fn ensure() -> Result<()> {
    if installed() {
        return Ok(());
    }
    let outcome = install().and_then(|()| {
        if installed() {
            Ok(())
        } else {
            bail!(
                "{} did not install {}",
                PACKAGES.join(", "),
                BINARIES.join(" and ")
            )
        }
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(e) if in_ci() => Err(e.context("CI runs the console's tests in a real browser")),
        Err(e) => {
            eprintln!("xtask: WARNING: {e:#}; the console's browser tests will be skipped");
            Ok(())
        }
    }
}
