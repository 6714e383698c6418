//! A support ticket: a machine whose events and states carry text, so the inspector tests can
//! store markup in a payload and check that the page shows it as text.

#![allow(dead_code)]

use std::convert::Infallible;

use machine_macros::{Event, Machine};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
pub enum TicketEvent {
    Comment { text: String },
    Assign { to: String },
    Close,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = TicketEvent)]
pub enum Ticket {
    #[initial]
    #[on(Comment => Open, Assign => Assigned, Close => Closed)]
    Open {
        title: String,
        comments: u32,
        last: String,
    },
    #[on(Comment => Assigned, Close => Closed)]
    Assigned { title: String, to: String },
    #[terminal]
    Closed,
}

impl Ticket {
    pub fn new(title: &str) -> Self {
        Ticket::Open {
            title: title.to_owned(),
            comments: 0,
            last: String::new(),
        }
    }
}

impl TicketTransitions for Ticket {
    fn open_comment(
        title: &String,
        comments: &u32,
        _: &String,
        comment: TicketEventComment<'_>,
    ) -> Result<TicketOpenOnComment, Infallible> {
        Ok(TicketOpenOnComment::Open {
            title: title.clone(),
            comments: comments + 1,
            last: comment.text.clone(),
        })
    }

    fn open_assign(
        title: &String,
        _: &u32,
        _: &String,
        assign: TicketEventAssign<'_>,
    ) -> Result<TicketOpenOnAssign, Infallible> {
        Ok(TicketOpenOnAssign::Assigned {
            title: title.clone(),
            to: assign.to.clone(),
        })
    }

    fn open_close(
        _: &String,
        _: &u32,
        _: &String,
        _: TicketEventClose<'_>,
    ) -> Result<TicketOpenOnClose, Infallible> {
        Ok(TicketOpenOnClose::Closed)
    }

    fn assigned_comment(
        title: &String,
        to: &String,
        _: TicketEventComment<'_>,
    ) -> Result<TicketAssignedOnComment, Infallible> {
        Ok(TicketAssignedOnComment::Assigned {
            title: title.clone(),
            to: to.clone(),
        })
    }

    fn assigned_close(
        _: &String,
        _: &String,
        _: TicketEventClose<'_>,
    ) -> Result<TicketAssignedOnClose, Infallible> {
        Ok(TicketAssignedOnClose::Closed)
    }
}

/// The comment the tests store: markup that would run if the page ever used it as HTML.
pub const HOSTILE: &str =
    "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">";
