use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum Ev {
    Go,
    Expire,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = Ev)]
enum Door {
    #[initial]
    #[on(Go => Open, Expire => Open)]
    #[timeout(after = "0s", event = Expire)]
    #[timeout(every = "1h", event = Expire)]
    #[timeout(after = "1h")]
    Closed,
    #[terminal]
    #[timeout(after = "1h", event = Go)]
    Open,
}

impl DoorTransitions for Door {
    fn closed_go(_: EvGo<'_>) -> Result<DoorClosedOnGo, std::convert::Infallible> {
        Ok(DoorClosedOnGo::Open)
    }

    fn closed_expire(_: EvExpire<'_>) -> Result<DoorClosedOnExpire, std::convert::Infallible> {
        Ok(DoorClosedOnExpire::Open)
    }
}

fn main() {}
