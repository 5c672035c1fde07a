//! Merge rules by the shape of the value, each in a module of its own that the planner calls:
//! [`sequence`] merges ordered lists whose entries may repeat (a playlist's order).

pub mod sequence;
