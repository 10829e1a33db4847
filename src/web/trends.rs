//! The trends page's figures and charts: counts per day and medians, drawn as SVG in Rust
//! (no script, no library in the browser).

use std::collections::BTreeMap;

use maud::{html, Markup};

use crate::store::query;
use crate::store::TicketRecord;

/// The window when the moderator picks no dates: this many days up to the newest case.
pub const DEFAULT_DAYS: u64 = 30;
/// The most days a chart draws (older days are left out).
const MAX_DAYS: u64 = 366;
/// Series drawn by name; the rest are summed as "other".
const TOP: usize = 5;
const COLOURS: [&str; 7] = [
    "#2f6fde", "#e8833a", "#3a9d5d", "#c94a5a", "#8a5cc7", "#8a94a0", "#c9a23a",
];

pub struct Trends {
    /// Day starts (unix seconds), oldest first.
    days: Vec<u64>,
    per_day: Vec<u64>,
    errors: Vec<(String, Vec<u64>)>,
    providers: Vec<(String, Vec<u64>)>,
    /// Week starts, and per week the medians in minutes, rounded up (first reply, escalation, resolution).
    weeks: Vec<u64>,
    week_medians: Vec<(String, Vec<u64>)>,
    pub median_first_reply: Option<u64>,
    pub median_escalation: Option<u64>,
    pub median_resolution: Option<u64>,
}

fn durations(tickets: &[&TicketRecord], end: impl Fn(&TicketRecord) -> Option<u64>) -> Vec<u64> {
    tickets
        .iter()
        .filter_map(|t| end(t).map(|at| at.saturating_sub(t.created_at)))
        .collect()
}

impl Trends {
    pub fn of(tickets: &[&TicketRecord], now: u64) -> Trends {
        let last = tickets.iter().map(|t| t.created_at).max().unwrap_or(now) / 86_400;
        let first_seen = tickets.iter().map(|t| t.created_at).min().unwrap_or(now) / 86_400;
        let first = first_seen
            .max(last.saturating_sub(MAX_DAYS - 1))
            .min(last.saturating_sub(DEFAULT_DAYS - 1));
        let days: Vec<u64> = (first..=last).map(|d| d * 86_400).collect();
        let in_window: Vec<&TicketRecord> = tickets
            .iter()
            .copied()
            .filter(|t| t.created_at / 86_400 >= first)
            .collect();
        let index = |t: &TicketRecord| usize::try_from(t.created_at / 86_400 - first).unwrap_or(0);
        let mut per_day = vec![0u64; days.len()];
        for t in &in_window {
            per_day[index(t)] += 1;
        }
        let series = |key: &dyn Fn(&TicketRecord) -> String| {
            let mut totals: BTreeMap<String, u64> = BTreeMap::new();
            for t in &in_window {
                *totals.entry(key(t)).or_default() += 1;
            }
            let mut ranked: Vec<(String, u64)> = totals.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let named: Vec<String> = ranked.iter().take(TOP).map(|(k, _)| k.clone()).collect();
            let mut out: Vec<(String, Vec<u64>)> = named
                .iter()
                .map(|k| (k.clone(), vec![0; days.len()]))
                .collect();
            let mut other = vec![0; days.len()];
            for t in &in_window {
                let k = key(t);
                match named.iter().position(|n| *n == k) {
                    Some(i) => out[i].1[index(t)] += 1,
                    None => other[index(t)] += 1,
                }
            }
            if other.iter().any(|v| *v > 0) {
                out.push(("other".to_string(), other));
            }
            out
        };
        let errors = series(&|t| t.error_code.clone().unwrap_or_else(|| "none".into()));
        let providers = series(&|t| t.provider.clone().unwrap_or_else(|| "unknown".into()));
        // Weeks (7-day blocks from the window's first day).
        let weeks: Vec<u64> = days.iter().step_by(7).copied().collect();
        let week_medians = [
            (
                "first reply",
                &(|t: &TicketRecord| t.first_reply_at) as &dyn Fn(&TicketRecord) -> Option<u64>,
            ),
            ("escalation", &|t: &TicketRecord| t.escalated_at),
            ("resolution", &|t: &TicketRecord| t.resolved_at),
        ]
        .into_iter()
        .map(|(name, end)| {
            let values = weeks
                .iter()
                .map(|w| {
                    let week: Vec<&TicketRecord> = in_window
                        .iter()
                        .copied()
                        .filter(|t| t.created_at >= *w && t.created_at < w + 7 * 86_400)
                        .collect();
                    query::median(&mut durations(&week, end)).map_or(0, |s| s.div_ceil(60))
                })
                .collect();
            (name.to_string(), values)
        })
        .collect();
        Trends {
            per_day,
            errors,
            providers,
            week_medians,
            median_first_reply: query::median(&mut durations(&in_window, |t| t.first_reply_at)),
            median_escalation: query::median(&mut durations(&in_window, |t| t.escalated_at)),
            median_resolution: query::median(&mut durations(&in_window, |t| t.resolved_at)),
            days,
            weeks,
        }
    }

    pub fn cases_svg(&self) -> String {
        bars(
            &self.days,
            &[("cases".to_string(), self.per_day.clone())],
            false,
        )
    }
    pub fn errors_svg(&self) -> String {
        bars(&self.days, &self.errors, false)
    }
    pub fn providers_svg(&self) -> String {
        bars(&self.days, &self.providers, false)
    }
    pub fn medians_svg(&self) -> String {
        bars(&self.weeks, &self.week_medians, true)
    }
}

/// A bar chart: one slot per period, the series stacked (or side by side when `grouped`),
/// a y axis with its top value, first/last dates under the x axis, and a legend.
fn bars(periods: &[u64], series: &[(String, Vec<u64>)], grouped: bool) -> String {
    const W: f64 = 460.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 26.0;
    let legend_rows = series.len().div_ceil(2) as f64;
    let total_h = H + BOTTOM + 22.0 * legend_rows + 6.0;
    let n = periods.len().max(1);
    let top = (0..n)
        .map(|i| {
            let values = series.iter().map(|(_, v)| v.get(i).copied().unwrap_or(0));
            if grouped {
                values.max().unwrap_or(0)
            } else {
                values.sum()
            }
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (W - LEFT) / n as f64;
    let scale = |v: u64| (H - 10.0) * v as f64 / top as f64;
    let date = |secs: u64| {
        query::rfc3339(secs)
            .get(..10)
            .unwrap_or_default()
            .to_string()
    };
    // Each bar: x, y, width, height, colour, tooltip.
    let mut rects: Vec<(f64, f64, f64, f64, &str, String)> = Vec::new();
    for i in 0..n {
        let x = LEFT + slot * i as f64;
        let mut base = 0u64;
        for (s, (name, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0);
            let tip = format!("{name} {}: {v}", date(periods.get(i).copied().unwrap_or(0)));
            let colour = COLOURS[s % COLOURS.len()];
            if grouped {
                let w = (slot * 0.8 / series.len().max(1) as f64).max(0.5);
                rects.push((
                    x + slot * 0.1 + w * s as f64,
                    H - scale(v),
                    w,
                    scale(v),
                    colour,
                    tip,
                ));
            } else if v > 0 {
                let w = (slot * 0.8).max(0.5);
                rects.push((
                    x + slot * 0.1,
                    H - scale(base + v),
                    w,
                    scale(v),
                    colour,
                    tip,
                ));
                base += v;
            }
        }
    }
    let markup: Markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {total_h}")) role="img" {
            line x1=(LEFT) y1=(H) x2=(W) y2=(H) stroke="#8a94a0" {}
            line x1=(LEFT) y1="10" x2=(LEFT) y2=(H) stroke="#8a94a0" {}
            text x=(LEFT - 4.0) y="16" text-anchor="end" font-size="14" fill="#4b5560" { (top) }
            text x=(LEFT - 4.0) y=(H) text-anchor="end" font-size="14" fill="#4b5560" { "0" }
            @for (x, y, w, h, colour, tip) in &rects {
                rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{w:.1}")) height=(format!("{h:.1}")) fill=(colour) {
                    title { (tip) }
                }
            }
            @if let (Some(first), Some(last)) = (periods.first(), periods.last()) {
                text x=(LEFT) y=(H + 18.0) font-size="14" fill="#4b5560" { (date(*first)) }
                text x=(W) y=(H + 18.0) font-size="14" text-anchor="end" fill="#4b5560" { (date(*last)) }
            }
            @for (s, (name, _)) in series.iter().enumerate() {
                @let lx = LEFT + 210.0 * (s % 2) as f64;
                @let ly = H + BOTTOM + 22.0 * (s / 2) as f64;
                rect x=(lx) y=(ly) width="13" height="13" fill=(COLOURS[s % COLOURS.len()]) {}
                text x=(lx + 18.0) y=(ly + 12.0) font-size="15" fill="#1d232a" { (name) }
            }
        }
    };
    markup.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ThreadId;

    #[test]
    fn counts_per_day_and_medians() {
        let day = 20_000 * 86_400;
        let mut a = TicketRecord::new(ThreadId(1), "a".into(), 1, day);
        a.error_code = Some("auth_failed".into());
        a.first_reply_at = Some(day + 60);
        let mut b = TicketRecord::new(ThreadId(2), "b".into(), 1, day + 86_400);
        b.first_reply_at = Some(day + 86_400 + 180);
        let t = Trends::of(&[&a, &b], day + 2 * 86_400);
        assert_eq!(t.days.len(), DEFAULT_DAYS as usize);
        assert_eq!(t.per_day[t.per_day.len() - 2..], [1, 1]);
        assert_eq!(t.median_first_reply, Some(120));
        let svg = t.errors_svg();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("auth_failed") && svg.contains("none"), "{svg}");
    }
}
