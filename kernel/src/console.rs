//! Kernel logging through the `log` facade onto the UART; level from `loglevel=` on the command line.

use velox_hal as hal;

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            hal::println!("[{:>5}] {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Install the logger. `loglevel=error|warn|info|debug|trace` on the command line picks the level
/// (default: warn, so tests see only what matters).
pub fn init_logger(bootargs: &str) {
    let level = bootargs
        .split_whitespace()
        .find_map(|a| a.strip_prefix("loglevel="))
        .and_then(|l| l.parse::<log::LevelFilter>().ok())
        .unwrap_or(log::LevelFilter::Warn);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
