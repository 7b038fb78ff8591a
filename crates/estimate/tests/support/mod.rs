pub mod rigsim;
