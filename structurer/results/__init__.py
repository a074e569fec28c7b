"""Results of a run: the engine's arrays with the measures a structurer reads (WAL, windows,
decrement tables) as tables."""
