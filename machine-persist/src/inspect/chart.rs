//! The statechart of a machine as SVG, drawn from its declared transition table.
//!
//! The page must work offline and with no JavaScript library, so the chart is laid out here, once
//! per machine type, from [`Diagram`]: states in columns by their distance from the initial
//! state, one curved arrow per declared target (a state timeout's arrow labelled `after …`), a
//! dot pointing at the initial state and a double border on final states. Every node and arrow
//! carries `data-` attributes naming its state or its `from`/`event`/`to`, so the page highlights
//! the state at the selected version and the transition that led there by toggling classes.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use machine_core::Diagram;
use machine_core::{StateTag, Tag};

use super::escape::xml;

const NODE_HEIGHT: f64 = 38.0;
const CHAR_WIDTH: f64 = 8.4;
const COLUMN_GAP: f64 = 150.0;
const ROW_GAP: f64 = 70.0;
const MARGIN: f64 = 60.0;

/// One state of the chart.
#[derive(Clone, Debug)]
struct Node {
    name: &'static str,
    initial: bool,
    terminal: bool,
    x: f64,
    y: f64,
    width: f64,
}

/// One arrow: `from` handles `event` by moving to `to`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Edge {
    pub(crate) from: &'static str,
    pub(crate) event: &'static str,
    pub(crate) to: &'static str,
    /// The label: the event, or `after 15m` for a timeout.
    pub(crate) label: String,
}

/// The declared edges of `M`: every target of every rule, then every timeout's targets.
pub(crate) fn edges<M: Diagram>() -> Vec<Edge> {
    let table = M::transition_table();
    let mut edges = Vec::new();
    for rule in table {
        for target in rule.targets {
            edges.push(Edge {
                from: rule.from.name(),
                event: rule.event.name(),
                to: target.name(),
                label: rule.event.name().to_owned(),
            });
        }
    }
    for timeout in M::timeout_table() {
        let rules = table
            .iter()
            .filter(|rule| rule.from == timeout.state && rule.event == timeout.event);
        for target in rules.flat_map(|rule| rule.targets) {
            edges.push(Edge {
                from: timeout.state.name(),
                event: timeout.event.name(),
                to: target.name(),
                label: format!("after {}", human(timeout.after)),
            });
        }
    }
    edges
}

/// `90s` as `1m30s`, `3600s` as `1h`.
fn human(after: std::time::Duration) -> String {
    let secs = after.as_secs();
    if secs == 0 {
        return format!("{}ms", after.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            let _ = write!(text, "{value}{unit}");
        }
    }
    text
}

/// Columns by breadth-first distance from the initial state; states it cannot reach come last.
fn layout<M: Diagram>(edges: &[Edge]) -> Vec<Node> {
    let tags = <M::StateTag as Tag>::ALL;
    let mut depth: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut queue: VecDeque<&'static str> = tags
        .iter()
        .filter(|tag| tag.is_initial())
        .map(|tag| tag.name())
        .collect();
    for start in &queue {
        depth.insert(start, 0);
    }
    while let Some(state) = queue.pop_front() {
        let next = depth[state] + 1;
        for edge in edges.iter().filter(|edge| edge.from == state) {
            if !depth.contains_key(edge.to) {
                depth.insert(edge.to, next);
                queue.push_back(edge.to);
            }
        }
    }
    let unreachable = depth.values().max().map_or(0, |max| max + 1);
    let mut columns: BTreeMap<usize, Vec<StateTagName>> = BTreeMap::new();
    for tag in tags {
        let column = depth.get(tag.name()).copied().unwrap_or(unreachable);
        columns.entry(column).or_default().push(StateTagName {
            name: tag.name(),
            initial: tag.is_initial(),
            terminal: tag.is_final(),
        });
    }
    let mut nodes = Vec::new();
    let mut x = MARGIN;
    for states in columns.values() {
        let width = states
            .iter()
            .map(|state| node_width(state.name))
            .fold(0.0, f64::max);
        for (row, state) in states.iter().enumerate() {
            nodes.push(Node {
                name: state.name,
                initial: state.initial,
                terminal: state.terminal,
                x: x + width / 2.0,
                y: MARGIN + row as f64 * (NODE_HEIGHT + ROW_GAP) + NODE_HEIGHT / 2.0,
                width: node_width(state.name),
            });
        }
        x += width + COLUMN_GAP;
    }
    nodes
}

struct StateTagName {
    name: &'static str,
    initial: bool,
    terminal: bool,
}

fn node_width(name: &str) -> f64 {
    (name.chars().count() as f64 * CHAR_WIDTH + 28.0).max(70.0)
}

/// Where the ray from the centre of `node` towards `(tx, ty)` leaves its box.
fn clip(node: &Node, tx: f64, ty: f64) -> (f64, f64) {
    let (dx, dy) = (tx - node.x, ty - node.y);
    if dx == 0.0 && dy == 0.0 {
        return (node.x, node.y);
    }
    let (half_w, half_h) = (node.width / 2.0 + 2.0, NODE_HEIGHT / 2.0 + 2.0);
    let scale = (half_w / dx.abs()).min(half_h / dy.abs());
    (node.x + dx * scale, node.y + dy * scale)
}

/// The SVG chart of `M`.
pub(crate) fn chart<M: Diagram>() -> String {
    let edges = edges::<M>();
    let nodes = layout::<M>(&edges);
    let find = |name: &str| nodes.iter().find(|node| node.name == name);
    let width = nodes
        .iter()
        .map(|node| node.x + node.width / 2.0)
        .fold(0.0, f64::max)
        + MARGIN;
    let height = nodes.iter().map(|node| node.y).fold(0.0, f64::max) + NODE_HEIGHT + MARGIN;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="statechart" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{} statechart">"#,
        xml(M::NAME)
    );
    svg.push_str(
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>"#,
    );
    // Parallel arrows between the same two states bend further apart.
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for edge in &edges {
        let (Some(from), Some(to)) = (find(edge.from), find(edge.to)) else {
            continue;
        };
        let pair = if edge.from <= edge.to {
            (edge.from, edge.to)
        } else {
            (edge.to, edge.from)
        };
        let index = *seen
            .entry(pair)
            .and_modify(|count| *count += 1)
            .or_insert(0);
        let attributes = format!(
            r#"class="edge" data-from="{}" data-event="{}" data-to="{}""#,
            xml(edge.from),
            xml(edge.event),
            xml(edge.to)
        );
        let (path, lx, ly) = if edge.from == edge.to {
            self_loop(from, index)
        } else {
            curve(from, to, index)
        };
        let _ = write!(
            svg,
            r#"<g {attributes}><path d="{path}" marker-end="url(#arrow)"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="middle">{}</text></g>"#,
            xml(&edge.label)
        );
    }
    for node in &nodes {
        let (left, top) = (node.x - node.width / 2.0, node.y - NODE_HEIGHT / 2.0);
        let _ = write!(
            svg,
            r#"<g class="node{}" data-state="{}">"#,
            if node.terminal { " final" } else { "" },
            xml(node.name)
        );
        if node.initial {
            let dot_x = left - 34.0;
            let _ = write!(
                svg,
                r#"<circle class="start" cx="{dot_x:.1}" cy="{:.1}" r="6"/><path class="start-arrow" d="M{:.1},{:.1} L{:.1},{:.1}" marker-end="url(#arrow)"/>"#,
                node.y,
                dot_x + 6.0,
                node.y,
                left - 3.0,
                node.y
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{NODE_HEIGHT:.1}" rx="10"/>"#,
            node.width
        );
        if node.terminal {
            let _ = write!(
                svg,
                r#"<rect class="inner" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="7"/>"#,
                left + 4.0,
                top + 4.0,
                node.width - 8.0,
                NODE_HEIGHT - 8.0
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            node.x,
            node.y + 5.0,
            xml(node.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A quadratic curve from `from` to `to`, bent sideways (more for each parallel arrow); the
/// path and where its label goes.
fn curve(from: &Node, to: &Node, index: usize) -> (String, f64, f64) {
    let (mx, my) = ((from.x + to.x) / 2.0, (from.y + to.y) / 2.0);
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let length = (dx * dx + dy * dy).sqrt().max(1.0);
    let bend = 28.0 + 34.0 * index as f64;
    let (cx, cy) = (mx - dy / length * bend, my + dx / length * bend);
    let (sx, sy) = clip(from, cx, cy);
    let (ex, ey) = clip(to, cx, cy);
    let (lx, ly) = (
        0.25 * sx + 0.5 * cx + 0.25 * ex,
        0.25 * sy + 0.5 * cy + 0.25 * ey - 4.0,
    );
    (
        format!("M{sx:.1},{sy:.1} Q{cx:.1},{cy:.1} {ex:.1},{ey:.1}"),
        lx,
        ly,
    )
}

/// A loop above the node, taller for each further self-transition.
fn self_loop(node: &Node, index: usize) -> (String, f64, f64) {
    let top = node.y - NODE_HEIGHT / 2.0;
    let rise = 34.0 + 22.0 * index as f64;
    let (sx, ex) = (node.x - 12.0, node.x + 12.0);
    (
        format!(
            "M{sx:.1},{top:.1} C{:.1},{:.1} {:.1},{:.1} {ex:.1},{top:.1}",
            sx - 26.0,
            top - rise,
            ex + 26.0,
            top - rise
        ),
        node.x,
        top - rise * 0.75 - 4.0,
    )
}

#[cfg(test)]
#[allow(dead_code)] // only the machine's declarations are drawn: nothing runs it
mod tests {
    use std::convert::Infallible;

    use machine_macros::{Event, Machine};

    use super::*;

    #[derive(Clone, Debug, Event)]
    enum JobEvent {
        Start,
        Fail,
        Retry,
    }

    #[derive(Clone, Debug, Machine)]
    #[machine(event = JobEvent)]
    enum Job {
        #[initial]
        #[on(Start => Running)]
        Queued,
        #[on(Fail => Queued | Failed, Retry => Running)]
        #[timeout(after = "90s", event = Fail)]
        Running,
        #[terminal]
        Failed,
    }

    impl JobTransitions for Job {
        fn queued_start(_: JobEventStart<'_>) -> Result<JobQueuedOnStart, Infallible> {
            Ok(JobQueuedOnStart::Running)
        }
        fn running_fail(_: JobEventFail<'_>) -> Result<JobRunningOnFail, Infallible> {
            Ok(JobRunningOnFail::Failed)
        }
        fn running_retry(_: JobEventRetry<'_>) -> Result<JobRunningOnRetry, Infallible> {
            Ok(JobRunningOnRetry::Running)
        }
    }

    #[test]
    fn every_declared_target_and_timeout_is_an_arrow() {
        let arrows: Vec<String> = edges::<Job>()
            .iter()
            .map(|edge| format!("{} -{}-> {}", edge.from, edge.label, edge.to))
            .collect();
        assert_eq!(
            arrows,
            [
                "Queued -Start-> Running",
                "Running -Fail-> Queued",
                "Running -Fail-> Failed",
                "Running -Retry-> Running",
                "Running -after 1m30s-> Queued",
                "Running -after 1m30s-> Failed",
            ]
        );
    }

    #[test]
    fn the_svg_names_every_state_and_arrow_for_the_page() {
        let svg = chart::<Job>();
        for state in ["Queued", "Running", "Failed"] {
            assert!(svg.contains(&format!(r#"data-state="{state}""#)), "{svg}");
        }
        assert!(svg.contains(r#"data-from="Running" data-event="Retry" data-to="Running""#));
        assert!(svg.contains(r#"class="node final" data-state="Failed""#));
        assert_eq!(svg.matches(r#"class="start""#).count(), 1);
        assert_eq!(human(std::time::Duration::from_secs(3600)), "1h");
    }
}
