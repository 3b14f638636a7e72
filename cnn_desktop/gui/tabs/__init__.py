"""The main window's tabs: views of the state objects, built from widgets."""
