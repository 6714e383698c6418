use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum Ev {
    Go,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = Ev)]
enum Holder<T> {
    #[initial]
    #[on(Go => Full)]
    Empty,
    #[terminal]
    Full(T),
}

fn main() {}
