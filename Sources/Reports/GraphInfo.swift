public enum GraphInfo {}
