use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum Ev {
    Go,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = Ev)]
#[initial]
enum Door {
    #[initial]
    #[on(Go => Open)]
    #[machine(event = Ev)]
    Closed,
    #[terminal]
    Open {
        #[terminal]
        wide: bool,
    },
}

impl DoorTransitions for Door {
    fn closed_go(_: EvGo<'_>) -> Result<DoorClosedOnGo, std::convert::Infallible> {
        Ok(DoorClosedOnGo::Open { wide: true })
    }
}

fn main() {}
