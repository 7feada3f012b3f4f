import './base.css';
import './traffic.css';
import 'uplot/dist/uPlot.min.css';
