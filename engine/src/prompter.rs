//! Asking the operator: on a terminal a yes/no question; without one, nobody is asked and the
//! run stops where a person is needed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::interrupts::Interrupts;

/// Asks yes/no questions.
pub trait Prompter: Send + Sync {
    /// `Some(answer)`, or `None` when there is nobody to ask.
    fn confirm(&self, question: &str) -> Option<bool>;
}

/// Asks on the terminal when stdin is one; otherwise nobody.
#[derive(Debug)]
pub struct TerminalPrompter {
    lock: Mutex<()>,
    interrupts: Interrupts,
}

impl TerminalPrompter {
    /// A prompter whose question returns unanswered once `interrupts` counts a signal.
    pub fn new(interrupts: Interrupts) -> Self {
        TerminalPrompter {
            lock: Mutex::new(()),
            interrupts,
        }
    }
}

impl Prompter for TerminalPrompter {
    fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let _guard = self.lock.lock().ok()?;
        let mut err = std::io::stderr();
        let _ = write!(err, "\n{question} [y/N] ");
        let _ = err.flush();
        // Wait for a line, or for Ctrl-C (a blocking read restarts after the signal handler).
        if !wait_for_input(&self.interrupts) {
            let _ = writeln!(err);
            return None;
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        let answer = line.trim().to_ascii_lowercase();
        Some(answer == "y" || answer == "yes")
    }
}

/// Waits until stdin has input (true) or an interrupting signal arrived (false).
fn wait_for_input(interrupts: &Interrupts) -> bool {
    loop {
        if interrupts.any() {
            return false;
        }
        match salvage_sys::poll_input::wait_readable(libc::STDIN_FILENO, Duration::from_millis(100))
        {
            Ok(true) => return true,
            Ok(false) => {}
            // Cannot poll: read as before.
            Err(_) => return true,
        }
    }
}

/// Nobody to ask (tests, and `--no-input`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn confirm(&self, _question: &str) -> Option<bool> {
        None
    }
}
