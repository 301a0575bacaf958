//! Every action the console understands, with the short label the footer and help show.
//! Keymaps may only bind these (and `noop`).

/// (action, label). The console ignores an action that does not apply where it is pressed
/// (`resource.scale` on a config map) instead of failing.
pub const ACTIONS: &[(&str, &str)] = &[
    // Application and navigation.
    ("app.quit", "quit"),
    ("help.show", "help"),
    ("focus.next", "next pane"),
    ("focus.prev", "previous pane"),
    ("focus.left", "pane left"),
    ("focus.right", "pane right"),
    ("focus.up", "pane up"),
    ("focus.down", "pane down"),
    ("pane.zoom", "zoom"),
    ("view.back", "back"),
    ("history.back", "history back"),
    ("history.forward", "history forward"),
    ("command.start", "command"),
    ("filter.start", "filter"),
    ("refresh", "refresh"),
    // Namespaces.
    ("namespace.all", "all namespaces"),
    ("namespace.favourite.1", "favourite 1"),
    ("namespace.favourite.2", "favourite 2"),
    ("namespace.favourite.3", "favourite 3"),
    ("namespace.favourite.4", "favourite 4"),
    ("namespace.favourite.5", "favourite 5"),
    ("namespace.favourite.6", "favourite 6"),
    ("namespace.favourite.7", "favourite 7"),
    ("namespace.favourite.8", "favourite 8"),
    ("namespace.favourite.9", "favourite 9"),
    // Rows.
    ("row.up", "up"),
    ("row.down", "down"),
    ("page.up", "page up"),
    ("page.down", "page down"),
    ("row.first", "top"),
    ("row.last", "bottom"),
    ("row.open", "open"),
    ("mark.toggle", "mark"),
    ("mark.clear", "clear marks"),
    // Sorting (k9s: shift + the column's letter).
    ("sort.name", "sort name"),
    ("sort.age", "sort age"),
    ("sort.status", "sort status"),
    ("sort.ready", "sort ready"),
    ("sort.restarts", "sort restarts"),
    ("sort.cpu", "sort cpu"),
    ("sort.mem", "sort mem"),
    ("sort.ip", "sort ip"),
    ("sort.node", "sort node"),
    // Resource actions.
    ("resource.describe", "describe"),
    ("resource.yaml", "yaml"),
    ("resource.edit", "edit"),
    ("resource.delete", "delete"),
    ("resource.scale", "scale"),
    ("rollout.restart", "restart"),
    ("pod.logs", "logs"),
    ("pod.logs.previous", "previous logs"),
    ("pod.shell", "shell"),
    ("pod.kill", "kill"),
    ("port.forward", "port-forward"),
    // Logs pane.
    ("logs.follow", "follow"),
    ("logs.wrap", "wrap"),
    ("logs.timestamps", "timestamps"),
    ("logs.search", "search"),
    ("logs.next", "next match"),
    ("logs.prev", "previous match"),
    ("logs.save", "save"),
    ("logs.container.next", "container"),
    ("logs.all_containers", "all containers"),
    ("logs.since.tail", "tail"),
    ("logs.since.1m", "1m"),
    ("logs.since.5m", "5m"),
    ("logs.since.15m", "15m"),
    ("logs.since.30m", "30m"),
    ("logs.since.1h", "1h"),
    ("logs.clear", "clear"),
    // Editor.
    ("editor.save", "save"),
    ("editor.cancel", "cancel"),
    // Dialogs.
    ("dialog.confirm", "confirm"),
    ("dialog.cancel", "cancel"),
    ("dialog.next", "next button"),
    ("dialog.prev", "previous button"),
    // Command line (also the filter line).
    ("command.submit", "run"),
    ("command.cancel", "cancel"),
    ("command.complete", "complete"),
    ("command.history.prev", "previous"),
    ("command.history.next", "next"),
];

/// Actions that destroy or disrupt running things; a key that used to be harmless must not
/// silently become one of these (see validation).
pub const DESTRUCTIVE: &[&str] = &[
    "resource.delete",
    "pod.kill",
    "resource.scale",
    "rollout.restart",
];

/// Actions `--readonly` removes (they change the cluster or run commands in it).
const MUTATING: &[&str] = &[
    "resource.delete",
    "pod.kill",
    "resource.scale",
    "rollout.restart",
    "resource.edit",
    "pod.shell",
    "port.forward",
];

pub fn is_action(name: &str) -> bool {
    ACTIONS.iter().any(|(a, _)| *a == name)
}

pub fn is_destructive(name: &str) -> bool {
    DESTRUCTIVE.contains(&name)
}

pub fn is_mutating(name: &str) -> bool {
    MUTATING.contains(&name)
}

/// The footer label of an action; the action name itself when it has none.
pub fn action_label(name: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, l)| *l)
}
