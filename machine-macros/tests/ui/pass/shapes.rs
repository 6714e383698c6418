//! Unit and tuple variants, several `#[on]` per state, an expression timeout using the state's
//! fields, renamed tags, a machine name, and the `env`/`error` defaults.

#![deny(warnings)]

use std::convert::Infallible;

use machine_core::{Machine, Scope, StateTag, Tag};
use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum LightEvent {
    Toggle,
    Dim(u8, bool),
    #[event(rename = "light.expired")]
    Expire { reason: String },
}

#[derive(Clone, Debug, Machine)]
#[machine(event = LightEvent, name = "light")]
enum Light {
    #[initial]
    #[on(Toggle => On)]
    #[on(Expire => Off)]
    Off,
    #[on(Toggle => Off, Dim => On | Off)]
    #[on(Expire => Off)]
    #[timeout(after = "1h30m", event = Expire { reason: format!("idle at {}", field_0) })]
    #[reenter]
    #[machine(rename = "light.on")]
    On(u8),
}

impl LightTransitions for Light {
    fn off_toggle(_: LightEventToggle<'_>) -> Result<LightOffOnToggle, Infallible> {
        Ok(LightOffOnToggle::On(100))
    }

    fn off_expire(_: LightEventExpire<'_>) -> Result<LightOffOnExpire, Infallible> {
        Ok(LightOffOnExpire::Off)
    }

    fn on_toggle(_: &u8, _: LightEventToggle<'_>) -> Result<LightOnOnToggle, Infallible> {
        Ok(LightOnOnToggle::Off)
    }

    fn on_dim(_: &u8, LightEventDim(level, off): LightEventDim<'_>) -> Result<LightOnOnDim, Infallible> {
        Ok(if *off { LightOnOnDim::Off } else { LightOnOnDim::On(*level) })
    }

    fn on_expire(_: &u8, expire: LightEventExpire<'_>) -> Result<LightOnOnExpire, Infallible> {
        assert!(!expire.reason.is_empty());
        Ok(LightOnOnExpire::Off)
    }
}

fn main() {
    assert_eq!(Light::NAME, "light");
    assert_eq!(LightTag::On.name(), "light.on");
    assert_eq!(LightEventTag::Expire.name(), "light.expired");
    assert!(!LightTag::Off.is_final());
    let on = Light::Off.transition(&LightEvent::Toggle).into_state().unwrap();
    let dimmed = on.transition(&LightEvent::Dim(30, false)).into_state().unwrap();
    assert!(matches!(dimmed, Light::On(30)));
    let mut scope = Scope::default();
    dimmed.enter(&mut scope);
    assert!(!scope.is_empty());
    assert_eq!(Light::timeout_table()[0].after.as_secs(), 5400);
}
