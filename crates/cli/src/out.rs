//! Everything the binary prints goes through here: `println!`, `print!` and `eprintln!` are
//! shadowed in this crate (see the macros at the top of `main.rs`) by writes that handle
//! errors. A closed pipe (`yibao settle … | head -1`) ends the process quietly with status 1;
//! any other failure to write stdout (`> /dev/full`) is reported in Chinese on stderr when
//! stderr can still take it, then status 1. Never a panic (std's `println!` panics, exit 101).

use std::fmt;
use std::io::{self, Write};

/// Exit status when standard output or standard error cannot be written.
pub const EXIT_OUTPUT_FAILED: i32 = 1;

/// Writes to stdout; on failure ends the process (see the module comment).
pub fn stdout(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        drop(out);
        output_failed("标准输出", &e);
    }
}

/// Writes to stderr; when even stderr cannot be written, ends the process with status 1.
pub fn stderr(args: fmt::Arguments<'_>) {
    if io::stderr().lock().write_fmt(args).is_err() {
        std::process::exit(EXIT_OUTPUT_FAILED);
    }
}

/// Ends the process after `what` could not be written: quietly for a closed pipe (the
/// reader has gone, as `head` does), else with a Chinese message on stderr if it is writable.
pub fn output_failed(what: &str, e: &io::Error) -> ! {
    if e.kind() != io::ErrorKind::BrokenPipe {
        let _ = writeln!(io::stderr().lock(), "错误：无法写入{what}：{e}");
    }
    std::process::exit(EXIT_OUTPUT_FAILED);
}

/// The `io::Error` behind an error chain, when writing stdout is what failed.
pub fn broken_output(e: &anyhow::Error) -> Option<&io::Error> {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .find(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
