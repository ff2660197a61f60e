//! What a run keeps on disk so that a crash loses nothing: the state directory (locked, with
//! the log's key), the journal of finished steps and live attachments, the undo records and
//! their cleanup, and the stamp of the params a state was run with.

pub mod cleanup;
pub mod exec_error;
pub mod journal;
pub mod params_stamp;
pub mod state_dir;
pub mod undo;
