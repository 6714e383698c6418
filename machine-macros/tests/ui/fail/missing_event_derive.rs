use machine_macros::Machine;

// `#[derive(Event)]` is missing: the machine's handlers have no views to receive.
#[derive(Clone, Debug)]
enum OrderEvent {
    Pay { amount: u64 },
    Cancel,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Pay => Paid, Cancel => Paid)]
    Pending,
    #[terminal]
    Paid,
}

fn main() {}
