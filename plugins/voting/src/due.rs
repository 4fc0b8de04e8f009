//! The timers a motion runs on, by tag: `open/{motion}` when a scheduled
//! motion opens, `remind/{motion}/{n}` for the n-th reminder (n is 1 or 2),
//! `close/{motion}` when it closes. The host keeps timers across restarts
//! and upgrades, and a handler that fails leaves its timer changes undone,
//! so a motion's timers are set in the same handler that changes its stage.

use linli_sdk::{timer, Error};

/// Something a motion has to do at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    Open(String),
    Remind(String, u32),
    Close(String),
}

impl Due {
    /// The timer's tag.
    pub fn tag(&self) -> String {
        match self {
            Due::Open(motion) => format!("open/{motion}"),
            Due::Remind(motion, n) => format!("remind/{motion}/{n}"),
            Due::Close(motion) => format!("close/{motion}"),
        }
    }

    /// What a fired timer's tag asks for; `None` for a tag this scene never set.
    pub fn from_tag(tag: &str) -> Option<Due> {
        let (what, rest) = tag.split_once('/')?;
        match what {
            "open" => Some(Due::Open(rest.to_owned())),
            "close" => Some(Due::Close(rest.to_owned())),
            "remind" => {
                let (motion, n) = rest.rsplit_once('/')?;
                Some(Due::Remind(motion.to_owned(), n.parse().ok()?))
            }
            _ => None,
        }
    }

    /// Sets the timer for `at`.
    pub fn schedule(&self, at: i64) -> Result<(), Error> {
        timer::schedule(&self.tag(), at, None)
    }

    /// Cancels the timer if it is still set.
    pub fn cancel(&self) -> Result<(), Error> {
        timer::cancel(&self.tag()).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_back_as_what_they_schedule() {
        for due in [
            Due::Open("motion-1".into()),
            Due::Remind("motion-12".into(), 2),
            Due::Close("motion-3".into()),
        ] {
            assert_eq!(Due::from_tag(&due.tag()), Some(due));
        }
        assert_eq!(Due::from_tag("remind/motion-1/x"), None);
        assert_eq!(Due::from_tag("sweep"), None);
    }
}
