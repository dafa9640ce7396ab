public enum WireInfo {}
