//! Pure values of the domain, shared by every stage: four-month periods,
//! French formatting, recipient names. Nothing here reads a file or a
//! database; everything here is a function of its arguments.

pub(crate) mod cubes;
pub(crate) mod fr;
pub(crate) mod names;
pub(crate) mod period;
