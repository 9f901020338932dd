//! The model's tools: their schemas ([`schema`]) and argument validation ([`args`]).
//! The engine executes the validated [`ToolCommand`]s for the conversation's sender.

pub mod args;
pub mod quote;
pub mod schema;

pub use args::{
    AppointmentLength, ArgContext, AvailabilityArgs, BookingArgs, HandoffReason, PieceArg,
    RescheduleArgs, ToolArgError, ToolCommand, parse_tool_call,
};
pub use schema::{ToolSpec, tool_specs, tool_specs_for};
