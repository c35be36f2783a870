//! SVG charts of benchmark results: `bench/results/<scenario>.json` (a [`ScenarioResult`])
//! becomes `<scenario>-throughput.svg`, `<scenario>-latency.svg` (when any target reports
//! latency percentiles) and `<scenario>-rss.svg` (when any target reports its peak RSS), next
//! to the JSON. `cargo xtask bench-charts [DIR]` renders every JSON file of a directory.
//!
//! The charts are drawn with `plotters`' SVG backend alone: text stays `<text>` elements, so
//! no font files are read and widths are estimated (about 8 px a character at the label size).

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

/// One scenario's results, as `cargo xtask bench` writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ScenarioResult {
    /// `small`, `prepare`, `concurrent`, `large`, `tus-large`, …; names the chart files.
    pub(crate) scenario: String,
    /// The caption of the charts, e.g. "64 KiB files: 2,000 uploads at 64 concurrent".
    pub(crate) title: String,
    /// The throughput unit: `files/s`, `req/s` or `MB/s`.
    pub(crate) unit: String,
    /// When the run finished, RFC 3339.
    #[serde(default)]
    pub(crate) date: String,
    /// The command line that produced the results.
    #[serde(default)]
    pub(crate) command: String,
    #[serde(default)]
    pub(crate) machine: Machine,
    /// Rounds per target.
    #[serde(default)]
    pub(crate) rounds: u32,
    pub(crate) targets: Vec<TargetResult>,
    #[serde(default)]
    pub(crate) ratios: Vec<Ratio>,
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: u32,
    pub(crate) kernel: String,
    pub(crate) memory_gib: f64,
    /// `/proc/loadavg`'s first three fields before and after the run.
    pub(crate) load_before: String,
    pub(crate) load_after: String,
    pub(crate) governor: String,
    pub(crate) notes: String,
}

/// One server (or configuration of one) under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TargetResult {
    /// The label shown in the charts.
    pub(crate) name: String,
    /// `uplift`, `tus-node`, `rustus` or `baseline`; `uplift` and `baseline` get their own
    /// colours, anything else is a peer.
    pub(crate) server: String,
    #[serde(default = "one")]
    pub(crate) workers: u32,
    #[serde(default)]
    pub(crate) rounds: Vec<RoundResult>,
    pub(crate) median: Summary,
    pub(crate) spread: Spread,
}

fn one() -> u32 {
    1
}

/// One round of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoundResult {
    pub(crate) per_s: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p90_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) max_ms: Option<f64>,
    #[serde(default)]
    pub(crate) ok: u64,
    #[serde(default)]
    pub(crate) errors: u64,
    pub(crate) cpu_ms_per_op: Option<f64>,
    pub(crate) peak_rss_kib: Option<f64>,
}

/// The median over the rounds of each figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) per_s: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p90_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) max_ms: Option<f64>,
    pub(crate) cpu_ms_per_op: Option<f64>,
    pub(crate) peak_rss_kib: Option<f64>,
}

/// The lowest and highest `per_s` over the rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spread {
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// A ratio between two targets, with the goal it is held to when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Ratio {
    pub(crate) what: String,
    pub(crate) value: f64,
    pub(crate) target: Option<f64>,
    pub(crate) met: Option<bool>,
}

/// Renders every `*.json` of `results_dir` into the same directory; the files written.
pub(crate) fn render_all(results_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(results_dir)
        .map_err(|e| format!("could not read {}: {e}", results_dir.display()))?;
    let mut inputs = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("could not read {}: {e}", results_dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "json") {
            inputs.push(path);
        }
    }
    inputs.sort();
    let mut written = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(&input)
            .map_err(|e| format!("could not read {}: {e}", input.display()))?;
        let result: ScenarioResult = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a scenario result: {e}", input.display()))?;
        written
            .extend(render(&result, results_dir).map_err(|e| format!("{}: {e}", input.display()))?);
    }
    Ok(written)
}

/// Writes the charts of one scenario into `dir`; the files written.
pub(crate) fn render(result: &ScenarioResult, dir: &Path) -> Result<Vec<PathBuf>, String> {
    if result.targets.is_empty() {
        return Err(format!("scenario {:?} has no targets", result.scenario));
    }
    let stem = file_stem(&result.scenario);
    let mut targets: Vec<&TargetResult> = result.targets.iter().collect();
    targets.sort_by(|a, b| finite(b.median.per_s).total_cmp(&finite(a.median.per_s)));

    let mut written = Vec::new();
    let path = dir.join(format!("{stem}-throughput.svg"));
    throughput_chart(result, &targets, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    written.push(path);

    let with_latency: Vec<&TargetResult> = targets
        .iter()
        .copied()
        .filter(|t| percentiles(t).iter().any(|(_, v)| v.is_some()))
        .collect();
    if !with_latency.is_empty() {
        let path = dir.join(format!("{stem}-latency.svg"));
        latency_chart(result, &with_latency, &path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }

    let with_rss: Vec<&TargetResult> = targets
        .iter()
        .copied()
        .filter(|t| t.median.peak_rss_kib.is_some())
        .collect();
    if !with_rss.is_empty() {
        let path = dir.join(format!("{stem}-rss.svg"));
        rss_chart(result, &with_rss, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

// Layout, in pixels. `plotters`' SVG backend writes `font-size` as the given size / 1.24, so
// LABEL (18) comes out at about 14.5 px and TITLE (24) at about 19 px.
const WIDTH: u32 = 800;
const FONT: &str = "sans-serif";
const TITLE: f64 = 24.0;
const LABEL: f64 = 18.0;
const SMALL: f64 = 15.0;
/// Estimated width of one character at LABEL size.
const CHAR_PX: u32 = 8;
/// Longer axis labels end in "…" (keeps the label area under about half the width).
const MAX_LABEL_CHARS: usize = 48;
const HEADER_H: u32 = 70;
/// Per line of the footnote.
const FOOTER_LINE_H: u32 = 22;
const X_AXIS_H: u32 = 48;
const RIGHT_MARGIN: u32 = 24;

const UPLIFT: RGBColor = RGBColor(37, 99, 235);
const PEER: RGBColor = RGBColor(234, 131, 34);
const BASELINE: RGBColor = RGBColor(120, 130, 145);
const TEXT: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(225, 225, 225);
const WHISKER: RGBColor = RGBColor(40, 40, 40);
const P50: RGBColor = RGBColor(147, 197, 253);
const P90: RGBColor = RGBColor(59, 130, 246);
const P99: RGBColor = RGBColor(30, 64, 175);

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type BarChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Slots>>;

fn throughput_chart(
    result: &ScenarioResult,
    targets: &[&TargetResult],
    path: &Path,
) -> Result<(), String> {
    let labels: Vec<String> = targets.iter().map(|t| label(t)).collect();
    let value_texts: Vec<String> = targets.iter().map(|t| fmt_value(t.median.per_s)).collect();
    let data_max = targets
        .iter()
        .map(|t| finite(t.median.per_s).max(finite(t.spread.max)))
        .fold(0.0, f64::max);

    let notes = footnote(result, true, targets);
    let height = HEADER_H + footer_h(&notes) + X_AXIS_H + 16 + 40 * targets.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let plot = frame(&root, &result.title, &server_legend(targets), &notes)?;
    let mut chart = bar_chart(&plot, &labels, data_max, &value_texts, &result.unit)?;

    let n = targets.len();
    for (i, t) in targets.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let median = finite(t.median.per_s);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (median, y + 0.8)],
                kind_colour(t).filled(),
            )))
            .map_err(draw_err)?;
        let (lo, hi) = (finite(t.spread.min), finite(t.spread.max));
        // One round (or identical rounds) has no spread to show.
        if lo < hi {
            let whisker = WHISKER.stroke_width(2);
            let mid = y + 0.5;
            chart
                .draw_series([
                    PathElement::new(vec![(lo, mid), (hi, mid)], whisker),
                    PathElement::new(vec![(lo, y + 0.36), (lo, y + 0.64)], whisker),
                    PathElement::new(vec![(hi, y + 0.36), (hi, y + 0.64)], whisker),
                ])
                .map_err(draw_err)?;
        }
        let end = if lo <= hi { median.max(hi) } else { median };
        value_label(&mut chart, (end, y + 0.5), value_texts[i].clone(), LABEL)?;
    }
    root.present().map_err(draw_err)
}

fn latency_chart(
    result: &ScenarioResult,
    targets: &[&TargetResult],
    path: &Path,
) -> Result<(), String> {
    let labels: Vec<String> = targets.iter().map(|t| label(t)).collect();
    let values: Vec<f64> = targets
        .iter()
        .flat_map(|t| percentiles(t).into_iter().filter_map(|(_, v)| v))
        .map(finite)
        .collect();
    let value_texts: Vec<String> = values.iter().map(|v| fmt_value(*v)).collect();
    let data_max = values.iter().copied().fold(0.0, f64::max);

    let notes = footnote(result, false, targets);
    let height = HEADER_H + footer_h(&notes) + X_AXIS_H + 16 + 66 * targets.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let kinds = [("p50", P50), ("p90", P90), ("p99", P99)];
    let caption = format!("{}: latency per upload", result.title);
    let plot = frame(&root, &caption, &kinds, &notes)?;
    // Value labels are SMALL here; LABEL-sized estimates leave them room to spare.
    let mut chart = bar_chart(&plot, &labels, data_max, &value_texts, "ms")?;

    let n = targets.len();
    for (i, t) in targets.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        for (j, ((_, value), colour)) in percentiles(t).into_iter().zip([P50, P90, P99]).enumerate()
        {
            let Some(value) = value.map(finite) else {
                continue;
            };
            // Top to bottom: p50, p90, p99.
            let bottom = y + 0.1 + (2 - j) as f64 * 0.27;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, bottom), (value, bottom + 0.25)],
                    colour.filled(),
                )])
                .map_err(draw_err)?;
            value_label(&mut chart, (value, bottom + 0.125), fmt_value(value), SMALL)?;
        }
    }
    root.present().map_err(draw_err)
}

fn rss_chart(
    result: &ScenarioResult,
    targets: &[&TargetResult],
    path: &Path,
) -> Result<(), String> {
    let labels: Vec<String> = targets.iter().map(|t| label(t)).collect();
    let mib: Vec<f64> = targets
        .iter()
        .map(|t| finite(t.median.peak_rss_kib.unwrap_or(0.0)) / 1024.0)
        .collect();
    let value_texts: Vec<String> = mib
        .iter()
        .map(|v| format!("{} MiB", fmt_value(*v)))
        .collect();
    let data_max = mib.iter().copied().fold(0.0, f64::max);

    let notes = footnote(result, false, targets);
    let height = HEADER_H + footer_h(&notes) + X_AXIS_H + 16 + 40 * targets.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let caption = format!("{}: peak memory", result.title);
    let plot = frame(&root, &caption, &server_legend(targets), &notes)?;
    let mut chart = bar_chart(&plot, &labels, data_max, &value_texts, "peak RSS (MiB)")?;

    let n = targets.len();
    for (i, (t, value)) in targets.iter().zip(&mib).enumerate() {
        let y = (n - 1 - i) as f64;
        chart
            .draw_series([Rectangle::new(
                [(0.0, y + 0.2), (*value, y + 0.8)],
                kind_colour(t).filled(),
            )])
            .map_err(draw_err)?;
        value_label(&mut chart, (*value, y + 0.5), value_texts[i].clone(), LABEL)?;
    }
    root.present().map_err(draw_err)
}

/// Draws the caption, the legend under it and the footnote; the area left for the plot.
fn frame<'a>(
    root: &Area<'a>,
    caption: &str,
    legend: &[(&str, RGBColor)],
    footnote: &[String],
) -> Result<Area<'a>, String> {
    let (_, height) = root.dim_in_pixel();
    let (header, rest) = root.split_vertically(HEADER_H);
    let (plot, footer) = rest.split_vertically(height - HEADER_H - footer_h(footnote));
    let left = Pos::new(HPos::Left, VPos::Center);
    header
        .draw(&Text::new(
            caption.to_string(),
            (16, 22),
            // About 10 px a character in bold: long captions get smaller rather than cut off.
            TextStyle::from(
                (
                    FONT,
                    TITLE.min(TITLE * 72.0 / caption.chars().count() as f64),
                )
                    .into_font()
                    .style(FontStyle::Bold),
            )
            .color(&TEXT)
            .pos(left),
        ))
        .map_err(draw_err)?;
    let mut x = 16;
    for (name, colour) in legend {
        header
            .draw(&Rectangle::new([(x, 46), (x + 14, 60)], colour.filled()))
            .map_err(draw_err)?;
        header
            .draw(&Text::new(
                name.to_string(),
                (x + 20, 53),
                TextStyle::from((FONT, LABEL).into_font())
                    .color(&TEXT)
                    .pos(left),
            ))
            .map_err(draw_err)?;
        // Legend entries are short words; 7 px a character spaces them evenly enough.
        x += 20 + name.chars().count() as i32 * 7 + 20;
    }
    for (i, line) in footnote.iter().enumerate() {
        footer
            .draw(&Text::new(
                line.clone(),
                (16, (FOOTER_LINE_H * i as u32 + FOOTER_LINE_H / 2) as i32),
                TextStyle::from((FONT, SMALL).into_font())
                    .color(&MUTED)
                    .pos(left),
            ))
            .map_err(draw_err)?;
    }
    Ok(plot)
}

fn footer_h(footnote: &[String]) -> u32 {
    FOOTER_LINE_H * footnote.len() as u32 + 6
}

/// A horizontal bar chart's axes: one slot (of height 1) per label, top to bottom, and an
/// x axis from 0 that leaves room right of the longest bar for its value label.
fn bar_chart<'a, 'b>(
    area: &'a Area<'b>,
    labels: &[String],
    data_max: f64,
    value_texts: &[String],
    x_desc: &str,
) -> Result<BarChart<'a, 'b>, String> {
    let n = labels.len();
    // Names longer than MAX_LABEL_CHARS are shortened rather than squeezing the bars.
    let names: Vec<String> = labels.iter().map(|l| shorten(l)).collect();
    let longest = names.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let label_area = (longest * CHAR_PX + 24).max(80);
    let plot_px = f64::from(WIDTH - label_area - RIGHT_MARGIN - 8);
    let text_px = value_texts
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0) as f64
        * f64::from(CHAR_PX)
        + 14.0;
    let data_max = if data_max > 0.0 { data_max } else { 1.0 };
    let x_max = data_max * plot_px / (plot_px - text_px).max(plot_px / 2.0);

    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(RIGHT_MARGIN)
        .x_label_area_size(X_AXIS_H)
        .y_label_area_size(label_area)
        .build_cartesian_2d(0.0..x_max, Slots(n))
        .map_err(draw_err)?;
    let y_format = move |y: &f64| -> String {
        let slot = y.floor() as usize;
        names
            .get(n.wrapping_sub(1).wrapping_sub(slot))
            .cloned()
            .unwrap_or_default()
    };
    let x_format = |x: &f64| fmt_axis(*x);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(6)
        .x_max_light_lines(0)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .x_label_style(TextStyle::from((FONT, LABEL).into_font()).color(&TEXT))
        .y_label_style(TextStyle::from((FONT, LABEL).into_font()).color(&TEXT))
        .axis_desc_style(TextStyle::from((FONT, LABEL).into_font()).color(&TEXT))
        .x_desc(x_desc)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

/// The y axis of a horizontal bar chart: `0.0..n` with a tick (the label) at the middle of
/// each of the `n` slots. (`f64` ranges choose their own ticks.)
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (value / self.0.max(1) as f64 * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}

/// `text` just right of the data point `at`, vertically centred on it.
fn value_label(
    chart: &mut BarChart,
    at: (f64, f64),
    text: String,
    size: f64,
) -> Result<(), String> {
    let style = TextStyle::from((FONT, size).into_font())
        .color(&TEXT)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(std::iter::once(
            EmptyElement::at(at) + Text::new(text, (6, 0), style),
        ))
        .map_err(draw_err)?;
    Ok(())
}

/// The lines under a chart: what the bars are, the machine, the date, and the targets left
/// out for want of figures.
fn footnote(result: &ScenarioResult, whiskers: bool, shown: &[&TargetResult]) -> Vec<String> {
    let mut parts = Vec::new();
    let rounds = match result.rounds {
        0 | 1 => "One round".to_string(),
        n => format!("Median of {n} rounds"),
    };
    parts.push(if whiskers && result.rounds > 1 {
        format!("{rounds}, whiskers min–max")
    } else {
        rounds
    });
    let m = &result.machine;
    match (m.cpu.is_empty(), m.cores) {
        (false, 0) => parts.push(m.cpu.clone()),
        (false, cores) => parts.push(format!("{}, {cores} cores", m.cpu)),
        (true, 0) => {}
        (true, cores) => parts.push(format!("{cores} cores")),
    }
    if let Some(day) = result.date.get(..10) {
        parts.push(day.to_string());
    }
    let mut lines = vec![parts.join(" · ")];
    let missing: Vec<String> = result
        .targets
        .iter()
        .filter(|t| !shown.iter().any(|s| std::ptr::eq(*s, *t)))
        .map(label)
        .collect();
    if !missing.is_empty() {
        lines.push(format!("Not shown (no figures): {}", missing.join(", ")));
    }
    lines
}

fn label(t: &TargetResult) -> String {
    // Runs with several worker counts already name each target's count ("… (2w)").
    if t.workers > 1 && !t.name.ends_with("w)") {
        format!("{} ×{} workers", t.name, t.workers)
    } else {
        t.name.clone()
    }
}

/// The legend entries of the kinds of server among `targets`.
fn server_legend(targets: &[&TargetResult]) -> Vec<(&'static str, RGBColor)> {
    [("Uplift", UPLIFT), ("peer", PEER), ("baseline", BASELINE)]
        .into_iter()
        .filter(|(_, colour)| targets.iter().any(|t| kind_colour(t) == *colour))
        .collect()
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_string()
    } else {
        let kept: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{}…", kept.trim_end())
    }
}

fn kind_colour(t: &TargetResult) -> RGBColor {
    match t.server.as_str() {
        "uplift" => UPLIFT,
        "baseline" => BASELINE,
        _ => PEER,
    }
}

fn percentiles(t: &TargetResult) -> [(&'static str, Option<f64>); 3] {
    [
        ("p50", t.median.p50_ms),
        ("p90", t.median.p90_ms),
        ("p99", t.median.p99_ms),
    ]
}

/// A scenario name made safe as part of a file name.
fn file_stem(scenario: &str) -> String {
    let stem: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if stem.is_empty() {
        "scenario".into()
    } else {
        stem
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

/// A figure with about three significant digits, thousands separated: `12,345`, `612`,
/// `61.2`, `6.12`.
fn fmt_value(v: f64) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    group_thousands(&format!("{v:.decimals$}"))
}

/// An axis tick: no trailing zeros, thousands separated.
fn fmt_axis(v: f64) -> String {
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    group_thousands(text)
}

fn group_thousands(number: &str) -> String {
    let (int, frac) = match number.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (number, None),
    };
    let (sign, digits) = match int.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", int),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing failed: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(per_s: f64, latency: Option<[f64; 3]>, rss_kib: Option<f64>) -> Summary {
        Summary {
            per_s,
            p50_ms: latency.map(|l| l[0]),
            p90_ms: latency.map(|l| l[1]),
            p99_ms: latency.map(|l| l[2]),
            max_ms: latency.map(|l| l[2] * 1.5),
            cpu_ms_per_op: latency.map(|_| 0.9),
            peak_rss_kib: rss_kib,
        }
    }

    fn target(name: &str, server: &str, workers: u32, median: Summary) -> TargetResult {
        let spread = Spread {
            min: median.per_s * 0.95,
            max: median.per_s * 1.05,
        };
        TargetResult {
            name: name.into(),
            server: server.into(),
            workers,
            rounds: vec![RoundResult {
                per_s: median.per_s,
                p50_ms: median.p50_ms,
                p90_ms: median.p90_ms,
                p99_ms: median.p99_ms,
                max_ms: median.max_ms,
                ok: 2000,
                errors: 0,
                cpu_ms_per_op: median.cpu_ms_per_op,
                peak_rss_kib: median.peak_rss_kib,
            }],
            median,
            spread,
        }
    }

    fn scenario(targets: Vec<TargetResult>) -> ScenarioResult {
        ScenarioResult {
            scenario: "small".into(),
            title: "64 KiB files: 2,000 uploads at 64 concurrent".into(),
            unit: "files/s".into(),
            date: "2026-12-01T01:23:45Z".into(),
            command: "cargo xtask bench small --runs 3".into(),
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                ..Machine::default()
            },
            rounds: 3,
            targets,
            ratios: vec![],
        }
    }

    /// The `y` attribute of the `<text>` element whose content is exactly `content`.
    fn text_y(svg: &str, content: &str) -> f64 {
        let end = svg
            .find(&format!(">\n{content}\n</text>"))
            .unwrap_or_else(|| panic!("no <text> of {content:?}"));
        let start = svg[..end].rfind("<text ").unwrap();
        let tag = &svg[start..end];
        let y = tag.split(" y=\"").nth(1).unwrap();
        y[..y.find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn renders_throughput_latency_and_rss_charts() {
        let result = scenario(vec![
            target(
                "@tus/server",
                "tus-node",
                1,
                summary(377.0, Some([80.1, 120.0, 190.2]), Some(118_000.0)),
            ),
            target(
                "uplift multipart",
                "uplift",
                4,
                summary(1612.0, Some([38.5, 61.0, 95.2]), Some(40_960.0)),
            ),
            target("rustus", "rustus", 1, summary(995.0, None, Some(35_500.0))),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let written = render(&result, dir.path()).unwrap();
        let names = ["small-throughput.svg", "small-latency.svg", "small-rss.svg"];
        assert_eq!(
            written,
            names.map(|n| dir.path().join(n)).to_vec(),
            "the files written"
        );
        let [throughput, latency, rss] =
            names.map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap());
        for svg in [&throughput, &latency, &rss] {
            assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
            assert!(svg.contains(&result.title));
        }

        // Every target, with its worker count, sorted by median throughput from the top.
        let labels = ["uplift multipart ×4 workers", "rustus", "@tus/server"];
        let ys = labels.map(|l| text_y(&throughput, l));
        assert!(ys[0] < ys[1] && ys[1] < ys[2], "{labels:?} at {ys:?}");
        for text in ["files/s", "1,612", "995", "377", "Uplift", "peer"] {
            assert!(
                throughput.contains(text),
                "{text:?} in the throughput chart"
            );
        }
        assert!(
            !throughput.contains("baseline"),
            "no baseline, no legend entry"
        );
        // Uplift's blue and the peers' orange.
        assert!(throughput.contains("#2563EB") && throughput.contains("#EA8322"));

        // rustus has no percentiles: left out, and said so.
        text_y(&latency, "uplift multipart ×4 workers");
        text_y(&latency, "@tus/server");
        assert!(latency.contains("Not shown (no figures): rustus"));
        assert!(!latency.contains(">\nrustus\n</text>"));
        for text in ["p50", "p90", "p99", "ms", "38.5", "61.0", "190"] {
            assert!(latency.contains(text), "{text:?} in the latency chart");
        }

        for label in labels {
            text_y(&rss, label);
        }
        for text in ["40.0 MiB", "115 MiB", "34.7 MiB", "peak RSS (MiB)"] {
            assert!(rss.contains(text), "{text:?} in the RSS chart");
        }
    }

    #[test]
    fn leaves_out_latency_and_rss_charts_without_figures() {
        let mut result = scenario(vec![
            target("uplift", "uplift", 1, summary(310.0, None, None)),
            target("baseline", "baseline", 1, summary(420.0, None, None)),
        ]);
        result.scenario = "tus-large".into();
        result.unit = "MB/s".into();
        let dir = tempfile::tempdir().unwrap();
        let written = render(&result, dir.path()).unwrap();
        assert_eq!(written, vec![dir.path().join("tus-large-throughput.svg")]);
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "nothing else written");
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        assert!(svg.contains("MB/s") && svg.contains("baseline"));
        assert!(text_y(&svg, "baseline") < text_y(&svg, "uplift"));
    }

    #[test]
    fn render_all_renders_every_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut large = scenario(vec![target(
            "uplift",
            "uplift",
            1,
            summary(90.0, None, None),
        )]);
        large.scenario = "large".into();
        let small = scenario(vec![target(
            "uplift",
            "uplift",
            1,
            summary(600.0, Some([1.0, 2.0, 3.0]), None),
        )]);
        for result in [&large, &small] {
            let path = dir.path().join(format!("{}.json", result.scenario));
            std::fs::write(path, serde_json::to_string_pretty(result).unwrap()).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "not a result").unwrap();
        let written = render_all(dir.path()).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "large-throughput.svg",
                "small-throughput.svg",
                "small-latency.svg"
            ]
        );
        assert!(written.iter().all(|p| p.is_file()));

        std::fs::write(dir.path().join("broken.json"), "{\"scenario\": 1}").unwrap();
        let err = render_all(dir.path()).unwrap_err();
        assert!(err.contains("broken.json"), "{err}");
    }

    #[test]
    fn json_with_nulls_round_trips() {
        let json = r#"{
          "scenario": "large",
          "title": "1 GiB file, one upload",
          "unit": "MB/s",
          "date": "2026-12-01T01:23:45Z",
          "command": "cargo xtask bench large --runs 3",
          "machine": { "cpu": "AMD EPYC 7B13", "cores": 2, "kernel": "6.18.0", "memory_gib": 24,
                       "load_before": "0.21 0.40 0.50", "load_after": "0.90 0.50 0.50",
                       "governor": "n/a", "notes": "" },
          "rounds": 3,
          "targets": [
            { "name": "uplift multipart", "server": "uplift", "workers": 1,
              "rounds": [ { "per_s": 612.5, "p50_ms": null, "p90_ms": null, "p99_ms": null,
                            "max_ms": null, "ok": 1, "errors": 0, "cpu_ms_per_op": 0.9,
                            "peak_rss_kib": 40000 } ],
              "median": { "per_s": 612.5, "p50_ms": null, "p90_ms": null, "p99_ms": null,
                          "max_ms": null, "cpu_ms_per_op": 0.9, "peak_rss_kib": 40000 },
              "spread": { "min": 590.0, "max": 640.0 } },
            { "name": "@tus/server", "server": "tus-node", "workers": 1, "rounds": [],
              "median": { "per_s": 377.0, "p50_ms": 80.1, "p90_ms": 120.0, "p99_ms": 190.2,
                          "max_ms": 240.0, "cpu_ms_per_op": null, "peak_rss_kib": null },
              "spread": { "min": 370.0, "max": 380.0 } }
          ],
          "ratios": [ { "what": "uplift multipart / @tus/server", "value": 1.62, "target": 1.5,
                        "met": true } ]
        }"#;
        let parsed: ScenarioResult = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.machine.memory_gib, 24.0);
        let [uplift, tus] = &parsed.targets[..] else {
            panic!("two targets: {:?}", parsed.targets);
        };
        assert_eq!(uplift.median.p50_ms, None);
        assert_eq!(uplift.median.peak_rss_kib, Some(40000.0));
        assert_eq!(uplift.rounds[0].ok, 1);
        assert_eq!(tus.median.p99_ms, Some(190.2));
        assert_eq!(tus.median.cpu_ms_per_op, None);
        assert_eq!(tus.spread.max, 380.0);
        assert_eq!(parsed.ratios[0].met, Some(true));

        let written = serde_json::to_string(&parsed).unwrap();
        assert!(
            written.contains(r#""p50_ms":null"#),
            "nulls stay nulls: {written}"
        );
        let again: ScenarioResult = serde_json::from_str(&written).unwrap();
        assert_eq!(again, parsed);

        // Optional parts may be left out.
        let minimal: ScenarioResult = serde_json::from_str(
            r#"{ "scenario": "s", "title": "t", "unit": "req/s", "targets": [
                 { "name": "n", "server": "uplift",
                   "median": { "per_s": 1.0 }, "spread": { "min": 1.0, "max": 1.0 } } ] }"#,
        )
        .unwrap();
        assert_eq!(minimal.targets[0].workers, 1);
        assert_eq!(minimal.targets[0].median.p50_ms, None);
        assert!(minimal.ratios.is_empty());
    }

    #[test]
    fn formats_figures_and_labels() {
        assert_eq!(fmt_value(12_345.6), "12,346");
        assert_eq!(fmt_value(1612.0), "1,612");
        assert_eq!(fmt_value(612.4), "612");
        assert_eq!(fmt_value(61.23), "61.2");
        assert_eq!(fmt_value(6.123), "6.12");
        assert_eq!(fmt_axis(2500.0), "2,500");
        assert_eq!(fmt_axis(1_000_000.0), "1,000,000");
        assert_eq!(fmt_axis(0.5), "0.5");
        assert_eq!(fmt_axis(0.0), "0");
        assert_eq!(file_stem("tus-large"), "tus-large");
        assert_eq!(file_stem("../x y"), "---x-y");
        let long = "a".repeat(60);
        assert_eq!(shorten(&long).chars().count(), MAX_LABEL_CHARS);
        assert!(shorten(&long).ends_with('…'));
        assert_eq!(shorten("rustus"), "rustus");
    }
}
