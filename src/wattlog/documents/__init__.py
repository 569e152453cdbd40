"""Documents made from report results: the Excel workbook and the monthly HTML/PDF (render, never query)."""
