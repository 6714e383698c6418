//! Child processes for crash tests: the test binary runs one of its own ignored tests as a
//! separate process (the child's role), which the test then kills with SIGKILL, freezes with
//! SIGSTOP, or lets run, reading what the child reports line by line on its stdout.
//!
//! A role is an `#[ignore]`d test of the same binary that does nothing unless its environment
//! says it is a child; the parent starts it with [`role`] and the settings it needs as
//! environment variables.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A command that runs the ignored test `role` of the current test binary alone, with its
/// stdout piped (read it with [`lines`]) and its stderr discarded, killed when dropped.
pub fn role(role: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            "--exact",
            role,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// The lines `child` writes to its stdout (once: the pipe is taken).
pub fn lines(child: &mut Child) -> Lines<BufReader<ChildStdout>> {
    let stdout = child
        .stdout
        .take()
        .expect("the child's stdout is piped and read once");
    BufReader::new(stdout).lines()
}

/// Reads `lines` until the child ends, or until `kill_after` has passed since the first line
/// `on_line` called a sign of progress (returned `true` for); the caller then kills it. The
/// first line must come within a minute (the child started).
pub async fn read_until_kill(
    lines: &mut Lines<BufReader<ChildStdout>>,
    kill_after: Duration,
    mut on_line: impl FnMut(&str) -> bool,
) {
    let mut deadline = None;
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, lines.next_line()).await {
                Ok(line) => line,
                Err(_) => return,
            },
            None => tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("the child reported within a minute"),
        };
        let Ok(Some(line)) = next else { return };
        if on_line(&line) {
            deadline.get_or_insert_with(|| tokio::time::Instant::now() + kill_after);
        }
    }
}
