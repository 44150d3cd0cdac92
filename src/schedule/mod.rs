//! Decides what to fetch when, following WeChat's T+1 publication (to be written).
