//! CPU and memory history of pods for the sparklines at the top of a pod's describe view.
//!
//! The console samples metrics every 5 s ([`UsageHistory::record`] with the same map that
//! feeds the pods table's CPU and MEM columns, keyed `namespace/name`); each pod keeps the
//! last [`SAMPLES`] samples (5 minutes) and a pod missing from [`FORGET_AFTER`] samples in a
//! row is dropped, so memory stays bounded however many pods come and go.

use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Sparkline, Widget};
use std::collections::{HashMap, VecDeque};

/// Samples kept per pod: 5 minutes at one sample every 5 s.
pub const SAMPLES: usize = 60;
/// A pod missing from this many samples in a row is forgotten.
pub const FORGET_AFTER: usize = 10;

const MI: u64 = 1024 * 1024;

/// The samples of one pod, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodUsage {
    cpu: VecDeque<u64>,
    mem: VecDeque<u64>,
    /// Samples in a row this pod was missing from.
    missed: usize,
}

impl PodUsage {
    /// CPU samples in millicores, oldest first.
    pub fn cpu(&self) -> &VecDeque<u64> {
        &self.cpu
    }

    /// Memory samples in bytes, oldest first.
    pub fn mem(&self) -> &VecDeque<u64> {
        &self.mem
    }

    pub fn len(&self) -> usize {
        self.cpu.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu.is_empty()
    }

    fn push(&mut self, (cpu, mem): (u64, u64)) {
        if self.cpu.len() == SAMPLES {
            self.cpu.pop_front();
            self.mem.pop_front();
        }
        self.cpu.push_back(cpu);
        self.mem.push_back(mem);
        self.missed = 0;
    }
}

/// Usage samples of every pod seen lately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageHistory {
    pods: HashMap<String, PodUsage>,
}

impl UsageHistory {
    pub fn new() -> UsageHistory {
        UsageHistory::default()
    }

    /// Add one sample: `namespace/name` → (CPU millicores, memory bytes). Pods missing from
    /// it get no sample (a gap is not a zero); those missing [`FORGET_AFTER`] times in a row
    /// are forgotten.
    pub fn record(&mut self, sample: &HashMap<String, (u64, u64)>) {
        self.pods.retain(|key, usage| {
            if sample.contains_key(key) {
                return true;
            }
            usage.missed += 1;
            usage.missed < FORGET_AFTER
        });
        for (key, &m) in sample {
            self.pods.entry(key.clone()).or_default().push(m);
        }
    }

    /// The samples of `namespace/name`.
    pub fn get(&self, key: &str) -> Option<&PodUsage> {
        self.pods.get(key)
    }

    /// Pods with samples.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}

/// The two sparklines of one pod, CPU left and MEM right, each under its label
/// (`CPU 12m (max 40m)`); meant for an area 2 to 4 lines high.
pub struct UsagePanel;

impl UsagePanel {
    pub fn render(history: &UsageHistory, key: &str, area: Rect, buf: &mut Buffer, theme: &Theme) {
        if area.is_empty() {
            return;
        }
        let Some(usage) = history.get(key).filter(|u| !u.is_empty()) else {
            Line::styled("no samples yet", theme.ui.footer).render(area, buf);
            return;
        };
        let [cpu_area, _, mem_area] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        let cpu = usage.cpu();
        let mem = usage.mem();
        let (cpu_now, cpu_max) = last_and_max(cpu);
        let (mem_now, mem_max) = last_and_max(mem);
        series(
            &format!("CPU {cpu_now}m (max {cpu_max}m)"),
            cpu,
            cpu_max,
            cpu_area,
            buf,
            theme,
            0,
        );
        series(
            &format!("MEM {}Mi (max {}Mi)", mem_now / MI, mem_max / MI),
            mem,
            mem_max,
            mem_area,
            buf,
            theme,
            1,
        );
    }
}

fn last_and_max(samples: &VecDeque<u64>) -> (u64, u64) {
    (
        samples.back().copied().unwrap_or(0),
        samples.iter().copied().max().unwrap_or(0),
    )
}

/// A label line and, below it, the newest samples that fit the width (the sparkline spans
/// the lines left; a 1-line area has only the label).
fn series(
    label: &str,
    samples: &VecDeque<u64>,
    max: u64,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    colour: usize,
) {
    let [label_area, spark_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    Line::styled(label.to_string(), theme.table.header).render(label_area, buf);
    let width = spark_area.width as usize;
    let newest: Vec<u64> = samples
        .iter()
        .skip(samples.len().saturating_sub(width))
        .copied()
        .collect();
    // A flat zero series draws as an empty baseline, never divides by zero.
    Sparkline::default()
        .data(&newest)
        .max(max.max(1))
        .style(theme.container_style(colour))
        .render(spark_area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn sample(pods: &[(&str, u64, u64)]) -> HashMap<String, (u64, u64)> {
        pods.iter()
            .map(|(k, c, m)| (k.to_string(), (*c, *m)))
            .collect()
    }

    #[test]
    fn the_ring_keeps_the_last_sixty_samples() {
        let mut h = UsageHistory::new();
        for i in 0..100u64 {
            h.record(&sample(&[("shop/web", i, i * MI)]));
        }
        let u = h.get("shop/web").unwrap();
        assert_eq!(u.len(), SAMPLES);
        assert_eq!(u.cpu().front(), Some(&40));
        assert_eq!(u.cpu().back(), Some(&99));
        assert_eq!(u.mem().back(), Some(&(99 * MI)));
        assert_eq!(u.mem().len(), SAMPLES);
    }

    #[test]
    fn missing_pods_get_no_sample_and_are_forgotten_after_ten() {
        let mut h = UsageHistory::new();
        h.record(&sample(&[("a/web", 5, MI), ("a/db", 7, MI)]));
        for n in 1..FORGET_AFTER {
            h.record(&sample(&[("a/web", 5, MI)]));
            let db = h
                .get("a/db")
                .expect("kept while missing fewer than ten samples");
            assert_eq!(db.len(), 1, "no sample for a missing pod (after {n})");
        }
        h.record(&sample(&[("a/web", 5, MI)]));
        assert!(h.get("a/db").is_none());
        assert_eq!(h.len(), 1);
        assert_eq!(h.get("a/web").unwrap().len(), FORGET_AFTER + 1);
        // Coming back within the window resets the count.
        let mut h = UsageHistory::new();
        h.record(&sample(&[("a/db", 1, 0)]));
        for _ in 0..FORGET_AFTER - 1 {
            h.record(&HashMap::new());
        }
        h.record(&sample(&[("a/db", 2, 0)]));
        for _ in 0..FORGET_AFTER - 1 {
            h.record(&HashMap::new());
        }
        assert_eq!(h.get("a/db").unwrap().cpu(), &VecDeque::from([1, 2]));
        h.record(&HashMap::new());
        assert!(h.is_empty());
    }

    fn draw(h: &UsageHistory, key: &str, w: u16, hgt: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
        t.draw(|f| UsagePanel::render(h, key, f.area(), f.buffer_mut(), &Theme::default_theme()))
            .unwrap();
        t
    }

    fn text(t: &Terminal<TestBackend>) -> String {
        let buf = t.backend().buffer();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    fn history() -> UsageHistory {
        let mut h = UsageHistory::new();
        let cpu = [3, 5, 8, 12, 20, 40, 33, 25, 18, 12];
        let mem = [10, 12, 15, 18, 22, 26, 30, 28, 25, 23];
        for (c, m) in cpu.iter().zip(mem) {
            h.record(&sample(&[("shop/web", *c, m * MI + 5000)]));
        }
        h
    }

    #[test]
    fn labels_show_the_latest_and_the_peak() {
        let t = draw(&history(), "shop/web", 60, 4);
        let s = text(&t);
        assert!(s.contains("CPU 12m (max 40m)"), "{s}");
        assert!(s.contains("MEM 23Mi (max 30Mi)"), "{s}");
        // The peak sample fills its column to the top of the sparkline.
        let buf = t.backend().buffer();
        assert_eq!(buf[(5, 1)].symbol(), "█");
        assert_eq!(
            buf[(5, 1)].fg,
            Theme::default_theme().container_style(0).fg.unwrap()
        );
        // Tiny areas do not panic.
        for (w, hgt) in [(1, 1), (60, 1), (3, 2), (0, 0)] {
            draw(&history(), "shop/web", w, hgt);
        }
    }

    #[test]
    fn snapshots() {
        let t = draw(&history(), "shop/web", 60, 4);
        insta::assert_snapshot!("usage_60x4", t.backend());
        let t = draw(&history(), "shop/other", 60, 4);
        assert!(text(&t).starts_with("no samples yet"));
        insta::assert_snapshot!("usage_empty_60x4", t.backend());
        // Only the newest samples that fit are drawn: 60 samples in a 20-column half.
        let mut h = UsageHistory::new();
        for i in 0..SAMPLES as u64 {
            h.record(&sample(&[("a/b", if i < 40 { 100 } else { i }, 0)]));
        }
        let t = draw(&h, "a/b", 41, 2);
        assert!(text(&t).contains("CPU 59m (max 100m)"), "{}", text(&t));
        insta::assert_snapshot!("usage_newest_41x2", t.backend());
    }
}
