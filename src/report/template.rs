//! The report's template: `reports/comite.html`, rendered with minijinja.
//!
//! What always holds: every value is HTML-escaped unless it is an SVG chart
//! drawn by [`super::charts`]; a variable the context does not hold is an
//! error naming it (a misspelt name never prints as nothing).
//!
//! Filters the template can use on a value (a number, `"s"` for a
//! suppressed one, none for no data):
//! - `entier` (`12 345`), `pct` (`45,3 %`), `jours` (`12,5`): the French
//!   number, `s` or `–`;
//! - `variation` (`+4,5 %`, a relative change), `points` (`+1,2 pt`, a
//!   change of rates), `ecart` (`+34`, a signed count): the same, signed;
//! - `svg(titre)`: a chart with its text alternative.
//!
//! The test `secret` tells a suppressed value.

use std::collections::BTreeSet;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::domain::fr::{fr_decimal, fr_int, fr_pct};
use crate::error::{Error, Result};

/// The template shipped with the engine, used when `reports/comite.html`
/// is not found.
pub const TEMPLATE: &str = include_str!("../../reports/comite.html");

/// A value as French text: `s` when suppressed, `–` when there is no data.
fn french(value: &Value, format: fn(f64) -> String) -> String {
    if value.is_none() || value.is_undefined() {
        return "–".into();
    }
    if value.as_str() == Some("s") {
        return "s".into();
    }
    match f64::try_from(value.clone()) {
        Ok(x) => format(x),
        Err(_) => value.to_string(),
    }
}

/// `text` (the French form of `x`) with a `+` when `x` is positive; a
/// negative number already carries its minus sign.
fn signed(x: f64, text: String) -> String {
    if x > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("entier", |v: Value| {
        french(&v, |x| fr_int(x.round() as i64))
    });
    env.add_filter("pct", |v: Value| french(&v, fr_pct));
    env.add_filter("jours", |v: Value| french(&v, fr_decimal));
    env.add_filter("variation", |v: Value| french(&v, |x| signed(x, fr_pct(x))));
    env.add_filter("points", |v: Value| {
        french(&v, |x| {
            signed(x, format!("{}\u{202f}pt", fr_decimal(x * 100.0)))
        })
    });
    env.add_filter("ecart", |v: Value| {
        french(&v, |x| signed(x, fr_int(x.round() as i64)))
    });
    env.add_filter("svg", |svg: String, title: String| {
        let title = minijinja::HtmlEscape(&title).to_string();
        Value::from_safe_string(svg.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{title}\" "),
            1,
        ))
    });
    env.add_test("secret", |v: Value| v.as_str() == Some("s"));
    env
}

/// Renders `source` (read from `origin`) with `context`.
///
/// # Errors
/// `Config` naming the template, the line and what is wrong: a syntax
/// error, or a variable the context does not hold (listing those it holds).
pub(crate) fn render(source: &str, origin: &str, context: &Value) -> Result<String> {
    let env = environment();
    let problem = |e: minijinja::Error| {
        let line = e.line().map(|l| format!(", line {l}")).unwrap_or_default();
        Error::Config(format!("template {origin}{line}: {e}"))
    };
    let template = env.template_from_str(source).map_err(problem)?;
    let held: BTreeSet<String> = context
        .try_iter()
        .map(|keys| {
            keys.filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !held.contains(v))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Config(format!(
            "template {origin}: unknown variable(s) {}; the report gives {}",
            unknown.join(", "),
            held.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    template.render(context).map_err(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_french_escaped_and_checked() {
        let ctx = minijinja::context! {
            n => 12345.4, s => "s", rien => (), taux => 0.4532, nom => "<b>",
        };
        let out = render(
            "{{ n|entier }} {{ s|entier }} {{ rien|pct }} {{ taux|pct }} {{ nom }} {{ s is secret }}",
            "test",
            &ctx,
        )
        .unwrap();
        assert_eq!(out, "12\u{202f}345 s – 45,3\u{202f}% &lt;b&gt; True");
        let ctx = minijinja::context! { up => 0.0451, down => -0.012, n => 34, s => "s" };
        let out = render(
            "{{ up|variation }} {{ down|points }} {{ n|ecart }} {{ s|ecart }}",
            "test",
            &ctx,
        )
        .unwrap();
        assert_eq!(out, "+4,5\u{202f}% -1,2\u{202f}pt +34 s");
        let err = render("{{ nmo }}", "gabarit.html", &ctx)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gabarit.html") && err.contains("unknown variable(s) nmo"),
            "{err}"
        );
    }
}
