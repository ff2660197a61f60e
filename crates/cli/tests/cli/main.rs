//! The tests that run the `salvage` binary, one integration binary for all of them (each
//! module was its own binary before). They run as threads of one process: no test may change
//! process-global state (environment, current directory, umask, signal dispositions) or use a
//! fixed path outside its own temp dir; the children get their environment and directory per
//! `Command`.

mod chain_kill;
mod cli;
mod common;
mod copy_damage;
mod copy_dir_loop;
mod copy_kill;
mod copy_losses;
mod copy_resume;
mod copy_sparse;
mod crash;
mod crash_loop;
mod damage_cli;
mod fifo_and_signals;
mod filesystem_cli;
mod fsck_table;
mod health_cli;
mod image_cli;
mod image_device;
mod image_domain;
mod image_fuse;
mod image_lock;
mod log_verify;
mod new_user;
mod partition_cli;
mod partition_scan;
mod partition_seeds;
mod preflight;
mod raid_cli;
mod report_browser;
mod review;
mod review_wording;
mod run_log;
mod runbook_tests;
mod saved_plan;
mod secrets;
mod shell_quote;
mod snapshot_root;
mod state_params;
