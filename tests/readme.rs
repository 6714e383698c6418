//! The README shows real code and real output: the quickstart example verbatim and the order
//! machine's current diagram.

#[path = "../examples/order/model.rs"]
#[allow(dead_code)] // the README only needs the diagram
mod model;

const README: &str = include_str!("../README.md");

#[test]
fn the_readme_shows_the_quickstart_example_verbatim() {
    let quickstart = include_str!("../examples/quickstart.rs");
    assert!(
        README.contains(&format!("```rust\n{quickstart}```")),
        "copy examples/quickstart.rs into README.md's Quickstart section"
    );
}

#[test]
fn the_readme_shows_the_order_machines_diagram() {
    let diagram = model::Order::mermaid();
    assert!(
        README.contains(&format!("```mermaid\n{diagram}```")),
        "paste the output of Order::mermaid() into README.md:\n{diagram}"
    );
}
