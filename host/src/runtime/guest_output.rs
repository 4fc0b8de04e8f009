//! What a plugin writes to stdout and stderr: log lines tagged with its
//! installation (counted against its log rate like the log capability's),
//! and, for stderr, the lines of the running call kept so that a call that
//! traps carries them (a Rust guest's panic message and location is written
//! there just before the trap).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::caps::log::LogHost;
use crate::caps::InstallationContext;

/// The most of a call's stderr kept for its failure; the start is kept (a
/// panic message comes first, what follows is usually its consequences).
const CALL_STDERR_BYTES: usize = 2048;

/// The stderr lines of the running call.
#[derive(Clone, Default)]
pub struct CallStderr(Arc<Mutex<String>>);

impl CallStderr {
    /// A new call starts.
    pub fn clear(&self) {
        self.0.lock().expect("stderr lock").clear();
    }

    fn push(&self, line: &str) {
        let mut text = self.0.lock().expect("stderr lock");
        if text.len() >= CALL_STDERR_BYTES {
            return;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        let room = CALL_STDERR_BYTES - text.len();
        let mut end = line.len().min(room);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&line[..end]);
    }

    /// What the call wrote, if anything.
    pub fn text(&self) -> Option<String> {
        let text = self.0.lock().expect("stderr lock");
        (!text.is_empty()).then(|| text.clone())
    }
}

/// Plugin stdout or stderr, written line by line to the host log.
pub struct GuestOutput {
    stream: &'static str,
    /// Whose log rate the lines count against.
    ctx: Arc<InstallationContext>,
    /// Where stderr's lines are also kept for the running call.
    call: Option<CallStderr>,
}

impl GuestOutput {
    pub fn stdout(ctx: Arc<InstallationContext>) -> Self {
        Self {
            stream: "stdout",
            ctx,
            call: None,
        }
    }

    /// Stderr, its lines also kept in `call` for the running call's failure.
    pub fn stderr(ctx: Arc<InstallationContext>, call: CallStderr) -> Self {
        Self {
            stream: "stderr",
            ctx,
            call: Some(call),
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            stream: self.stream,
            ctx: self.ctx.clone(),
            call: self.call.clone(),
            line: Vec::new(),
        })
    }
}

/// Longest line buffered before it is flushed regardless.
const MAX_LINE: usize = 4096;

struct LineWriter {
    stream: &'static str,
    ctx: Arc<InstallationContext>,
    call: Option<CallStderr>,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let level = if self.stream == "stderr" {
            crate::wit::linli::platform::log::Level::Warn
        } else {
            crate::wit::linli::platform::log::Level::Info
        };
        LogHost::line(
            &self.ctx,
            level,
            text.trim_end(),
            &format!("stream={}", self.stream),
        );
        if let Some(call) = &self.call {
            call.push(text.trim_end());
        }
        self.line.clear();
    }
}

impl tokio::io::AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        for &byte in buf {
            if byte == b'\n' || self.line.len() >= MAX_LINE {
                self.emit();
            }
            if byte != b'\n' {
                self.line.push(byte);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.emit();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.emit();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_keeps_the_start_of_its_stderr_and_a_new_call_starts_empty() {
        let call = CallStderr::default();
        assert_eq!(call.text(), None);
        call.push("panicked at src/lib.rs:9:5:");
        call.push("the greeting was empty");
        assert_eq!(
            call.text().as_deref(),
            Some("panicked at src/lib.rs:9:5:\nthe greeting was empty")
        );
        call.push(&"é".repeat(CALL_STDERR_BYTES));
        let kept = call.text().unwrap();
        assert!(kept.len() <= CALL_STDERR_BYTES && kept.starts_with("panicked at"));
        call.clear();
        assert_eq!(call.text(), None);
    }
}
