//! Agent (spool + uploader).
