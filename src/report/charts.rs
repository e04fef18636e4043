//! The report's charts, drawn with plotters as SVG from plain values.
//!
//! What always holds: a suppressed or missing value is not drawn (a bar
//! chart leaves its bar out and marks its label `(s)` when suppressed; a line
//! chart breaks its line); every label is drawn whole (bars are horizontal,
//! their label area as wide as the longest label, and the line chart keeps
//! room after its last month). Titles and captions are the template's.

use plotters::prelude::*;

use super::data::Val;
use crate::domain::fr::{fr_int, fr_pct};
use crate::error::{Error, Result};

/// The top of a chart's value axis: 15 % above the largest published value.
fn y_ceiling(values: &[Val]) -> f64 {
    let max = values
        .iter()
        .filter_map(|v| v.num())
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        1.0
    } else {
        max * 1.15
    }
}

/// The width in pixels of the label area that holds `labels` whole, at the
/// charts' label font (about 7 px a character), within a third of the chart.
fn label_width(labels: &[String]) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    (u32::try_from(longest).unwrap_or(u32::MAX).saturating_mul(7) + 16).clamp(60, WIDTH / 3 + 40)
}

/// Every chart's width in pixels.
const WIDTH: u32 = 640;

/// A horizontal bar chart as inline SVG, its labels beside the bars so that
/// long names fit; suppressed or missing values draw no bar.
pub(crate) fn bar_chart(labels: &[String], values: &[Val], percent: bool) -> Result<String> {
    let mut svg = String::new();
    let n = labels.len().max(1);
    let top = y_ceiling(values);
    let names: Vec<String> = labels
        .iter()
        .zip(values)
        .map(|(l, v)| {
            if *v == Val::Secret {
                format!("{l} (s)")
            } else {
                l.clone()
            }
        })
        .collect();
    // At least two rows: plotters needs a range of two segments.
    let rows = n.max(2);
    let height = 60 + 34 * u32::try_from(rows).unwrap_or(u32::MAX / 64);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(30)
            .y_label_area_size(label_width(&names))
            .build_cartesian_2d(0.0..top, (0..rows - 1).into_segmented())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            // The first label at the top, as the table lists them.
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => (rows - 1)
                    .checked_sub(*i)
                    .and_then(|k| names.get(k))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|x| {
                if percent {
                    fr_pct(*x)
                } else {
                    fr_int(x.round() as i64)
                }
            })
            .draw()
            .map_err(plot_err)?;
        let bars = values.iter().enumerate().filter_map(|(i, v)| {
            v.num().map(|x| {
                let row = rows - 1 - i;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (x, SegmentValue::Exact(row + 1)),
                    ],
                    RGBColor(0, 0, 145).filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            })
        });
        chart.draw_series(bars).map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// A line chart of a monthly series; suppressed months break the line.
pub(crate) fn line_chart(labels: &[String], values: &[Val]) -> Result<String> {
    let mut svg = String::new();
    let n = labels.len().max(1);
    let top = y_ceiling(values);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        // Room on the right for the last month's label, centred on its point.
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0..n - 1, 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_label_formatter(&|y| fr_int(y.round() as i64))
            .draw()
            .map_err(plot_err)?;
        // One line per run of published months.
        let mut run: Vec<(usize, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v.num() {
                Some(y) => run.push((i, y)),
                None => {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for r in runs {
            chart
                .draw_series(LineSeries::new(
                    r.clone(),
                    RGBColor(0, 0, 145).stroke_width(2),
                ))
                .map_err(plot_err)?;
            chart
                .draw_series(
                    r.into_iter()
                        .map(|p| Circle::new(p, 3, RGBColor(0, 0, 145).filled())),
                )
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("chart: {e:?}"))
}
