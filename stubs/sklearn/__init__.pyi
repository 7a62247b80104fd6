# Typed stubs for the parts of scikit-learn that rmsewatch uses; extend as needed.
