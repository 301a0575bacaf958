//! The `/` filter: a case-insensitive regular expression over the row's cells (`!` in front
//! inverts it), or `-l SELECTOR`, a label selector with kubectl's syntax.

use crate::api::selector::LabelSelector;
use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// A parsed filter. The default matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    source: String,
    text: Option<(Regex, bool)>,
    labels: Option<LabelSelector>,
}

impl Filter {
    /// `web` (regex, case-insensitive), `!web` (rows that do not match), `-l app=web,env in
    /// (prod)` (label selector), empty (no filter). A pattern that is not a valid regex is
    /// matched literally, so typing `(` or `[` never fails; a bad label selector is an error.
    pub fn parse(input: &str) -> Result<Filter, String> {
        let source = input.trim().to_string();
        if source.is_empty() {
            return Ok(Filter::default());
        }
        if let Some(rest) = source.strip_prefix("-l")
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            let sel = rest.trim();
            if sel.is_empty() {
                return Err("-l needs a label selector, such as -l app=web".into());
            }
            let labels = LabelSelector::parse(sel)
                .map_err(|e| format!("bad label selector {sel:?}: {e}"))?;
            return Ok(Filter {
                source,
                text: None,
                labels: Some(labels),
            });
        }
        let (pattern, invert) = match source.strip_prefix('!') {
            Some(p) => (p, true),
            None => (source.as_str(), false),
        };
        let build = |p: &str| {
            RegexBuilder::new(p)
                .case_insensitive(true)
                // A pasted monster pattern must not eat the console's memory.
                .size_limit(1 << 20)
                .build()
        };
        let regex = match build(pattern) {
            Ok(r) => r,
            Err(_) => build(&regex::escape(pattern)).map_err(|e| format!("bad filter: {e}"))?,
        };
        Ok(Filter {
            source,
            text: Some((regex, invert)),
            labels: None,
        })
    }

    /// What the user typed (trimmed); empty for no filter.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// The label selector, when this is a `-l` filter.
    pub fn labels(&self) -> Option<&LabelSelector> {
        self.labels.as_ref()
    }

    /// Whether this filter matches row text (it is not empty and not `-l`).
    pub fn has_text(&self) -> bool {
        self.text.is_some()
    }

    /// [`Filter::matches`] on a table entry: labels from the entry, no parse.
    pub(super) fn matches_entry<'a>(
        &self,
        e: &super::entry::Entry,
        haystack: impl FnOnce() -> &'a str,
    ) -> bool {
        if let Some(sel) = &self.labels
            && !e.matches_labels(sel)
        {
            return false;
        }
        match &self.text {
            Some((re, invert)) => re.is_match(haystack()) != *invert,
            None => true,
        }
    }

    /// Whether an object passes. `haystack` gives the row text and is only called for text
    /// filters, since building it costs a row's cells.
    pub fn matches<'a>(&self, obj: &Value, haystack: impl FnOnce() -> &'a str) -> bool {
        if let Some(sel) = &self.labels
            && !sel.matches_object(obj)
        {
            return false;
        }
        match &self.text {
            Some((re, invert)) => re.is_match(haystack()) != *invert,
            None => true,
        }
    }
}
