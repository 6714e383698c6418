use machine_macros::Event;

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    #[event(renam = "Paid")]
    Pay,
}

fn main() {}
