use machine_macros::Event;

#[derive(Clone, Debug, Event)]
struct Pay {
    amount: u64,
}

fn main() {}
