use machine_macros::Event;

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay,
    Tag { label: String },
}

fn main() {}
