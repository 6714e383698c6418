//! The Mermaid `stateDiagram-v2` of a machine, rendered at compile time.
//!
//! Nodes and labels use the Rust variant names, as written in the code: `[*] --> Initial`,
//! one `From --> To : Event` line per declared target, `From --> To : after 72h` for each
//! timeout, and `Final --> [*]` for terminal states.

use crate::internals::machine::MachineModel;
use crate::internals::naming::unraw;

/// The diagram, one statement per line.
pub(crate) fn render(model: &MachineModel) -> String {
    let name = |index: usize| unraw(&model.states[index].ident);
    let mut lines = vec!["stateDiagram-v2".to_owned()];
    if let Some(initial) = model.initial {
        lines.push(format!("    [*] --> {}", name(initial)));
    }
    for transition in &model.transitions {
        for (target, _) in &transition.targets {
            lines.push(format!(
                "    {} --> {} : {}",
                name(transition.source),
                name(*target),
                unraw(&transition.event)
            ));
        }
    }
    for (index, state) in model.states.iter().enumerate() {
        for timeout in &state.timeouts {
            let sent = unraw(&timeout.variant);
            let transition = model
                .transitions_from(index)
                .find(|transition| unraw(&transition.event) == sent);
            for (target, _) in transition.iter().flat_map(|transition| &transition.targets) {
                lines.push(format!(
                    "    {} --> {} : after {}",
                    name(index),
                    name(*target),
                    timeout.after_text
                ));
            }
        }
    }
    for (index, state) in model.states.iter().enumerate() {
        if state.terminal {
            lines.push(format!("    {} --> [*]", name(index)));
        }
    }
    let mut diagram = lines.join("\n");
    diagram.push('\n');
    diagram
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internals::ctxt::Ctxt;

    #[test]
    fn renders_rules_timeouts_and_final_states() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[machine(event = Ev)]
            enum Job {
                #[on(Fail => Queued | Failed)]
                #[timeout(after = "30s", event = Fail)]
                Running,
                #[initial]
                #[on(Start => Running)]
                Queued,
                #[terminal]
                Failed,
            }
        };
        let mut cx = Ctxt::default();
        let model = MachineModel::from_ast(&mut cx, &input).unwrap();
        assert!(cx.into_error().is_none());
        assert_eq!(
            render(&model),
            "stateDiagram-v2\n    [*] --> Queued\n    Running --> Queued : Fail\n    \
             Running --> Failed : Fail\n    Queued --> Running : Start\n    \
             Running --> Queued : after 30s\n    Running --> Failed : after 30s\n    \
             Failed --> [*]\n"
        );
    }
}
