//! The logs pane: a live tail that never blocks the UI.
//!
//! - [`LogBuffer`] keeps the last N lines (a ring; old lines fall out and are counted).
//! - [`spawn_tail`] reads a pod container's log stream on a tokio task and hands the UI whole
//!   batches of parsed lines; when the UI lags it coalesces and drops the oldest, never
//!   stalling the stream reader.
//! - [`LogView`] is the view state (follow/pause, wrap, timestamps, search, time range).
//! - [`LogFollower`] decides which log the pane shows (pod, container, all containers,
//!   previous, range), runs the tails, restarts them when the container restarts, and
//!   handles the logs actions; the console only feeds it the selected pod, keys and batches.
//!
//!   Wiring: `LogFollower::new(config.log_buffer_lines)`; a `LogSink::channel(tx, Msg::Logs)`;
//!   `follow(selected_pod, &cluster, &sink)` on every pod change and UI tick;
//!   `on_key` first while `is_searching()`; `on_action` for the logs actions;
//!   `on_batch` for `Msg::Logs`; `render(area, buf, theme, focused)` to draw.
//! - [`LogsPane`] draws only the visible slice, so a frame costs the same with ten lines or a
//!   million in the buffer.

pub mod ansi;
mod buffer;
#[cfg(test)]
mod fake;
mod follow;
#[cfg(test)]
mod follow_tests;
mod pane;
mod pod_info;
mod search;
mod sink;
#[cfg(test)]
mod snapshot_tests;
mod tail;
#[cfg(test)]
mod tests;
mod view;

pub use buffer::{DEFAULT_CAPACITY, LineKind, LogBuffer, LogLine, StreamKind};
pub use follow::{Handled, LOG_DIR_ENV, LogFollower};
pub use pane::{LogStyles, LogsPane, PaneStatus};
pub use sink::LogSink;
pub use tail::{
    Batch, LogTarget, TailConfig, parse_line, spawn_tail, spawn_tail_stream, spawn_tail_with,
};
pub use view::{LogView, TimeRange, find_matches, has_match};
