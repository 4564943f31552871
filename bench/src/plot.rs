//! PNG plots with plotters' own bitmap backend. Text is rasterized by
//! ab_glyph from a font embedded in the binary (Hack, from the
//! epaint_default_fonts crate), so no system fonts or fontconfig are needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Results, Workload};

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plot: {e:?}")
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font(
                "sans-serif",
                style,
                epaint_default_fonts::HACK_REGULAR,
            );
        }
    });
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Writes every plot; returns the files written.
pub fn draw_all(r: &Results, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    register_font();
    let mut out = Vec::new();
    let tp = dir.join("throughput.png");
    if throughput(r, &tp)? {
        out.push(tp);
    }
    let lat = dir.join("latency-cdf.png");
    if latency_cdf(r, &lat)? {
        out.push(lat);
    }
    Ok(out)
}

/// Horizontal bars: median MB/s per produce/consume workload, one bar per broker.
fn throughput(r: &Results, path: &Path) -> anyhow::Result<bool> {
    let mut workloads: Vec<Workload> = Vec::new();
    for row in &r.rows {
        if !matches!(row.workload, Workload::Latency { .. }) && !workloads.contains(&row.workload) {
            workloads.push(row.workload.clone());
        }
    }
    if workloads.is_empty() {
        return Ok(false);
    }
    let names: Vec<String> = r.targets.iter().map(|t| t.name.clone()).collect();
    let nt = names.len() as f64;
    let group = nt + 0.6;
    let total = workloads.len() as f64 * group;
    let value = |w: &Workload, t: &str| {
        r.rows
            .iter()
            .find(|x| &x.workload == w && x.target == t)
            .and_then(|x| x.med(|s| Some(s.mb_s)))
    };
    let max = workloads
        .iter()
        .flat_map(|w| names.iter().filter_map(move |t| value(w, t)))
        .fold(1.0f64, f64::max);
    let height = (120.0 + total * 26.0) as u32;
    let root = BitMapBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let caption = format!(
        "Throughput, 1 KiB records, 6 partitions (median of {} run{})",
        r.plan.runs,
        if r.plan.runs == 1 { "" } else { "s" }
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(250)
        .build_cartesian_2d(0f64..max * 1.18, 0f64..total)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("MB/s (2^20 bytes of values per second)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    let label_style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    let value_style =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, w) in workloads.iter().enumerate() {
        // First workload at the top.
        let top = total - k as f64 * group;
        for (j, t) in names.iter().enumerate() {
            let y1 = top - 0.3 - j as f64;
            let y0 = y1 - 0.85;
            let color = COLORS[j % COLORS.len()];
            let v = value(w, t).unwrap_or(0.0);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0), (v, y1)],
                    color.filled(),
                )))
                .map_err(err)?;
            let text = if value(w, t).is_some() {
                format!("{v:.0}")
            } else {
                "failed".into()
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (v + max * 0.01, (y0 + y1) / 2.0),
                    value_style.clone(),
                )))
                .map_err(err)?;
        }
        let center = top - 0.3 - nt / 2.0;
        let (px, py) = chart.backend_coord(&(0.0, center));
        root.draw(&Text::new(w.label(), (px - 8, py), label_style.clone()))
            .map_err(err)?;
    }
    if names.len() > 1 {
        for (j, t) in names.iter().enumerate() {
            let color = COLORS[j % COLORS.len()];
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, 0.0), (0.0, 0.0)],
                    color.filled(),
                )))
                .map_err(err)?
                .label(t.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(true)
}

fn percentile_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// Latency by percentile (HdrHistogram style: the x axis is 1/(1-q) on a log
/// scale, so the tail is as wide as the median), one line per broker and rate,
/// from the run with the median p99.
fn latency_cdf(r: &Results, path: &Path) -> anyhow::Result<bool> {
    let rows: Vec<_> = r
        .rows
        .iter()
        .filter(|x| matches!(x.workload, Workload::Latency { .. }))
        .collect();
    // (legend, points, broker index, rate index)
    type Series = (String, Vec<(f64, f64)>, usize, usize);
    let series: Vec<Series> = rows
        .iter()
        .filter_map(|row| {
            let s = row.median_run()?;
            let Workload::Latency { rate } = row.workload else {
                return None;
            };
            let ti = r
                .targets
                .iter()
                .position(|t| t.name == row.target)
                .unwrap_or(0);
            let ri = rows
                .iter()
                .filter(|x| x.target == row.target)
                .position(|x| x.workload == row.workload)
                .unwrap_or(0);
            Some((
                format!("{} @ {} msg/s", row.target, crate::fmt_int(rate)),
                s.cdf.clone(),
                ti,
                ri,
            ))
        })
        .filter(|s| !s.1.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(false);
    }
    let pts = series.iter().flat_map(|s| s.1.iter());
    let (mut lo, mut hi, mut xmax) = (f64::MAX, 0f64, 10f64);
    for &(x, y) in pts {
        lo = lo.min(y.max(0.001));
        hi = hi.max(y);
        xmax = xmax.max(x);
    }
    let root = BitMapBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "End-to-end latency by percentile (produce → consume, 1 KiB)",
            ("sans-serif", 20),
        )
        .margin(12)
        .margin_right(40)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (1f64..xmax * 1.05).log_scale(),
            (lo / 1.5..hi * 1.5).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_label_formatter(&|x| percentile_label(*x))
        .y_label_formatter(&|y| {
            if *y < 1.0 {
                format!("{y:.2}")
            } else {
                format!("{y:.0}")
            }
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (name, points, ti, ri) in series {
        // Colour by rate; line style by broker (solid for the first, thinner for the rest).
        let color = COLORS[ri % COLORS.len()];
        let width = if ti == 0 { 3 } else { 1 };
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(width)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(true)
}
