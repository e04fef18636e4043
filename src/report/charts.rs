//! The report's charts, drawn with plotters as SVG from plain values.
//!
//! What always holds: a suppressed or missing value is not drawn (a bar
//! chart leaves its bar out and marks its label `(s)` when suppressed; a line
//! chart breaks its line). Titles and captions are the template's.

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

/// A bar chart as inline SVG; suppressed or missing values draw no bar.
pub(crate) fn bar_chart(labels: &[String], values: &[Val], percent: bool) -> Result<String> {
    let mut svg = String::new();
    let n = labels.len().max(1);
    let top = y_ceiling(values);
    {
        let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n.saturating_sub(1).max(1)).into_segmented(), 0.0..top)
            .map_err(plot_err)?;
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
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| {
                if percent {
                    fr_pct(*y)
                } else {
                    fr_int(y.round() as i64)
                }
            })
            .draw()
            .map_err(plot_err)?;
        let bars = values.iter().enumerate().filter_map(|(i, v)| {
            v.num().map(|y| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), y),
                    ],
                    RGBColor(0, 0, 145).filled(),
                );
                bar.set_margin(0, 0, 8, 8);
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
        let root = SVGBackend::with_string(&mut svg, (640, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
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
